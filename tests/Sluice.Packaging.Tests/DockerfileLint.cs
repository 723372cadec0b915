using System.Text.Json;
using System.Text.RegularExpressions;

namespace Sluice.Packaging.Tests;

/// <summary>
/// The rules we hold our Dockerfiles to, checked without a container runtime: every base image pinned to a version tag
/// (or a digest), never latest; the final stage runs as a user that is not root; an ENTRYPOINT; a HEALTHCHECK; no ENV or
/// ARG named like a secret with a value baked in; every COPY/ADD source present in the build context. A small parser of
/// the Dockerfile syntax these files use (line continuations, comments, exec and shell forms, flags).
/// </summary>
internal static partial class DockerfileLint
{
    public sealed record Instruction(int Line, string Keyword, string Arguments);

    public static IReadOnlyList<Instruction> Parse(string text)
    {
        var result = new List<Instruction>();
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var start = i + 1;
            var joined = new System.Text.StringBuilder();
            while (true)
            {
                var continued = line.EndsWith('\\');
                joined.Append(continued ? line[..^1] : line).Append(' ');
                if (!continued || i + 1 >= lines.Length) break;
                // Comment lines inside a continued instruction are dropped, as Docker does.
                do line = lines[++i].Trim(); while (line.StartsWith('#') && i + 1 < lines.Length);
            }
            var full = joined.ToString().Trim();
            var space = full.IndexOfAny([' ', '\t']);
            result.Add(space < 0
                ? new Instruction(start, full.ToUpperInvariant(), "")
                : new Instruction(start, full[..space].ToUpperInvariant(), full[(space + 1)..].Trim()));
        }
        return result;
    }

    /// <summary>Every rule broken, each with its line; empty when the file passes.</summary>
    public static IReadOnlyList<string> Check(string text, string context)
    {
        var instructions = Parse(text);
        var problems = new List<string>();
        var stages = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        string? user = null;      // the final stage's user as the ENTRYPOINT sees it; null: the image default, root
        var entrypoint = false;
        var healthcheck = false;
        foreach (var (line, keyword, args) in instructions)
        {
            var words = Words(args);
            switch (keyword)
            {
                case "FROM":
                {
                    var image = words.FirstOrDefault(w => !w.StartsWith("--", StringComparison.Ordinal)) ?? "";
                    var asIndex = words.FindIndex(w => w.Equals("AS", StringComparison.OrdinalIgnoreCase));
                    if (!stages.Contains(image) && !Pinned(image))
                        problems.Add($"line {line}: FROM {image}: pin the base image to a version tag (or a digest), not latest or no tag");
                    if (asIndex >= 0 && asIndex + 1 < words.Count) stages.Add(words[asIndex + 1]);
                    user = null; entrypoint = false; healthcheck = false;    // a new stage starts from its base
                    break;
                }
                case "USER":
                    user = words.FirstOrDefault() ?? "";
                    break;
                case "ENTRYPOINT":
                    entrypoint = true;
                    if (user is null || IsRoot(user))
                        problems.Add($"line {line}: ENTRYPOINT runs as root: set a USER that is not root (e.g. USER app) before it");
                    break;
                case "HEALTHCHECK":
                    healthcheck = !args.Equals("NONE", StringComparison.OrdinalIgnoreCase);
                    break;
                case "ENV" or "ARG":
                    foreach (var (name, value) in Assignments(keyword, words))
                        if (SecretName().IsMatch(name) && !string.IsNullOrEmpty(value))
                            problems.Add($"line {line}: {keyword} {name} bakes a secret into the image; give it at run time (an environment variable or a mounted file)");
                    break;
                case "COPY" or "ADD":
                {
                    if (words.Any(w => w.StartsWith("--from=", StringComparison.OrdinalIgnoreCase))) break;   // from a stage or an image
                    var paths = args.TrimStart().StartsWith('[')
                        ? JsonSerializer.Deserialize<List<string>>(args[args.IndexOf('[', StringComparison.Ordinal)..]) ?? []
                        : words.Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToList();
                    foreach (var source in paths.SkipLast(1))
                    {
                        if (source.Contains("://", StringComparison.Ordinal)) continue;
                        var path = Path.Combine(context, source.TrimStart('/'));
                        if (!File.Exists(path) && !Directory.Exists(path))
                            problems.Add($"line {line}: {keyword} {source}: not in the build context {context}");
                    }
                    break;
                }
            }
        }
        if (user is not null && IsRoot(user)) problems.Add($"the final stage ends as USER {user}: the container would run as root");
        if (!entrypoint) problems.Add("no ENTRYPOINT in the final stage");
        if (!healthcheck) problems.Add("no HEALTHCHECK in the final stage");
        return problems;
    }

    /// <summary>A tag with a version in it (a digit: 10.0.12-noble, 13.0.1-cudnn-runtime-ubuntu24.04), or a digest.</summary>
    private static bool Pinned(string image)
    {
        if (image.Contains("@sha256:", StringComparison.Ordinal)) return true;
        var slash = image.LastIndexOf('/');
        var colon = image.IndexOf(':', slash + 1);
        if (colon < 0) return false;
        var tag = image[(colon + 1)..];
        return !tag.Equals("latest", StringComparison.OrdinalIgnoreCase) && tag.Any(char.IsAsciiDigit) && !tag.Contains('$', StringComparison.Ordinal);
    }

    private static bool IsRoot(string user)
    {
        var name = user.Split(':')[0];
        return name is "root" or "0" or "";
    }

    private static IEnumerable<(string Name, string? Value)> Assignments(string keyword, List<string> words)
    {
        if (words.Count == 0) yield break;
        // Legacy form: ENV NAME value with spaces.
        if (keyword == "ENV" && !words[0].Contains('=', StringComparison.Ordinal))
        {
            yield return (words[0], string.Join(' ', words.Skip(1)));
            yield break;
        }
        foreach (var word in words)
        {
            var eq = word.IndexOf('=', StringComparison.Ordinal);
            yield return eq < 0 ? (word, null) : (word[..eq], word[(eq + 1)..].Trim('"', '\''));
        }
    }

    /// <summary>Arguments split at white space, quotes kept together.</summary>
    private static List<string> Words(string args) =>
        WordPattern().Matches(args).Select(m => m.Value).ToList();

    [GeneratedRegex("""(?:[^\s"']+|"[^"]*"|'[^']*')+""")]
    private static partial Regex WordPattern();

    [GeneratedRegex("PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();
}
