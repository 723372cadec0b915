namespace Sluice.Cli.Service;

/// <summary>API tokens from files and the environment. A token is never printed, not even in an error.</summary>
internal static class Tokens
{
    /// <summary>The lines of a token file: blank lines and <c>#</c> comments skipped.</summary>
    public static IReadOnlyList<string> ReadFile(string file)
    {
        if (!File.Exists(file)) throw new SluiceException($"--token-file {file}: the file does not exist");
        return [.. File.ReadAllLines(file).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))];
    }

    /// <summary>The service's tokens: those of <c>--token-file</c> and of <c>SLUICE_TOKENS</c> (comma-separated).</summary>
    public static IReadOnlyList<string> ForService(string? file) =>
        [.. file is null ? [] : ReadFile(file),
         .. (Environment.GetEnvironmentVariable("SLUICE_TOKENS") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

    /// <summary>A client's token: the first of <c>--token-file</c>, else <c>SLUICE_TOKEN</c>.</summary>
    public static string ForClient(string? file)
    {
        if (file is not null)
            return ReadFile(file) is [var first, ..] ? first : throw new SluiceException($"--token-file {file}: the file holds no token");
        return Environment.GetEnvironmentVariable("SLUICE_TOKEN") is { Length: > 0 } token
            ? token.Trim()
            : throw new SluiceException("no API token: set SLUICE_TOKEN or give --token-file FILE");
    }
}
