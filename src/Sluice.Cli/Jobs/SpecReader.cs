using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Sluice.Cli.Jobs;

/// <summary>
/// Reads typed values out of a YAML tree and collects every problem at once, each naming the
/// field's path, its line, the value given and what would be accepted.
/// </summary>
internal sealed class SpecReader(string file)
{
    public List<string> Errors { get; } = [];

    /// <summary>The job's execution section, parsed before the stages (which may depend on it: partition: auto).</summary>
    public RunSpec? Run { get; set; }

    public void Error(YamlNode? node, string path, string message) =>
        Errors.Add(node is null ? $"{file}: {path}: {message}" : $"{file} line {node.Start.Line}: {path}: {message}");

    public static YamlNode? Node(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var node) ? node : null;

    public void CheckKeys(YamlMappingNode map, string path, IReadOnlyCollection<string> accepted)
    {
        foreach (var key in map.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value ?? "?";
            if (!accepted.Contains(name))
                Error(key, Join(path, name), $"unknown field; accepted here: {string.Join(", ", accepted)}");
        }
    }

    public YamlMappingNode? Map(YamlMappingNode map, string key, string path, bool required)
    {
        var node = Node(map, key);
        if (node is null)
        {
            if (required) Error(map, Join(path, key), "is required");
            return null;
        }
        if (node is YamlMappingNode m) return m;
        Error(node, Join(path, key), "must be a mapping (key: value pairs)");
        return null;
    }

    public string? String(YamlMappingNode map, string key, string path, bool required, string? accepted = null)
    {
        var node = Node(map, key);
        if (node is null)
        {
            if (required) Error(map, Join(path, key), $"is required{(accepted is null ? "" : $"; give {accepted}")}");
            return null;
        }
        if (node is YamlScalarNode { Value: { Length: > 0 } v }) return v;
        Error(node, Join(path, key), $"must be a non-empty text value{(accepted is null ? "" : $"; give {accepted}")}");
        return null;
    }

    public string? Choice(YamlMappingNode map, string key, string path, IReadOnlyCollection<string> choices, bool required)
    {
        var value = String(map, key, path, required, string.Join(" | ", choices));
        if (value is null || choices.Contains(value)) return value;
        Error(Node(map, key), Join(path, key), $"'{value}' is not accepted; give one of: {string.Join(", ", choices)}");
        return null;
    }

    public int? Int(YamlMappingNode map, string key, string path, int min = int.MinValue)
    {
        var node = Node(map, key);
        if (node is null) return null;
        if (node is YamlScalarNode { Value: { } v } && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= min) return n;
        Error(node, Join(path, key), $"'{(node as YamlScalarNode)?.Value}' is not accepted; give a whole number{(min > int.MinValue ? $" >= {min}" : "")}");
        return null;
    }

    public double? Double(YamlMappingNode map, string key, string path, double min = 0)
    {
        var node = Node(map, key);
        if (node is null) return null;
        if (node is YamlScalarNode { Value: { } v } && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= min) return n;
        Error(node, Join(path, key), $"'{(node as YamlScalarNode)?.Value}' is not accepted; give a number >= {min}");
        return null;
    }

    public bool? Bool(YamlMappingNode map, string key, string path)
    {
        var node = Node(map, key);
        if (node is null) return null;
        if (node is YamlScalarNode { Value: { } v } && bool.TryParse(v, out var b)) return b;
        Error(node, Join(path, key), $"'{(node as YamlScalarNode)?.Value}' is not accepted; give true or false");
        return null;
    }

    /// <summary>A byte size: a plain number of bytes or a number with KiB, MiB, GiB (also KB, MB, GB as binary units).</summary>
    public long? Bytes(YamlMappingNode map, string key, string path)
    {
        var node = Node(map, key);
        if (node is null) return null;
        var text = (node as YamlScalarNode)?.Value;
        if (text is not null && TryParseBytes(text, out var bytes) && bytes > 0) return bytes;
        Error(node, Join(path, key), $"'{text}' is not accepted; give a positive size such as 512MiB, 2GiB or 1048576");
        return null;
    }

    public static bool TryParseBytes(string text, out long bytes)
    {
        bytes = 0;
        var t = text.Trim();
        var units = new (string Suffix, long Factor)[] { ("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30), ("KB", 1L << 10), ("MB", 1L << 20), ("GB", 1L << 30), ("B", 1) };
        long factor = 1;
        foreach (var (suffix, f) in units)
        {
            if (!t.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)) continue;
            factor = f;
            t = t[..^suffix.Length].Trim();
            break;
        }
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n < 0) return false;
        bytes = (long)(n * factor);
        return true;
    }

    public static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";
}
