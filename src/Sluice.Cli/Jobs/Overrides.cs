using YamlDotNet.RepresentationModel;

namespace Sluice.Cli.Jobs;

/// <summary>
/// Applies <c>--set key=value</c> to the YAML tree before validation. A key is a dotted path;
/// a stage is named by its name or its index: <c>stages.embed.batch_size=32</c>, <c>stages[1].pool.max=4</c>,
/// <c>write.path=out/x</c>. The value is read as YAML scalar text.
/// </summary>
internal static class Overrides
{
    public static void Apply(YamlMappingNode root, IReadOnlyList<string> overrides, SpecReader reader)
    {
        foreach (var o in overrides)
        {
            var eq = o.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                reader.Error(null, $"--set {o}", "expected key=value, e.g. --set stages.embed.batch_size=32");
                continue;
            }
            var key = o[..eq].Trim();
            var value = o[(eq + 1)..];
            var segments = key.Replace("[", ".", StringComparison.Ordinal).Replace("]", "", StringComparison.Ordinal).Split('.', StringSplitOptions.RemoveEmptyEntries);
            YamlNode node = root;
            for (var i = 0; i < segments.Length; i++)
            {
                var seg = segments[i];
                var last = i == segments.Length - 1;
                if (node is YamlSequenceNode seq)
                {
                    var found = int.TryParse(seg, out var index) && index >= 0 && index < seq.Children.Count
                        ? seq.Children[index]
                        : seq.Children.OfType<YamlMappingNode>().FirstOrDefault(m => m.Children.TryGetValue(new YamlScalarNode("name"), out var n) && (n as YamlScalarNode)?.Value == seg);
                    if (found is null || last)
                    {
                        reader.Error(null, $"--set {key}", $"no stage '{seg}'; name a stage by its name or index");
                        break;
                    }
                    node = found;
                    continue;
                }
                if (node is not YamlMappingNode map)
                {
                    reader.Error(null, $"--set {key}", $"'{seg}' is inside a value that is not a mapping");
                    break;
                }
                var k = new YamlScalarNode(seg);
                if (last)
                {
                    map.Children[k] = new YamlScalarNode(value);
                    break;
                }
                if (!map.Children.TryGetValue(k, out var child))
                {
                    child = new YamlMappingNode();
                    map.Children[k] = child;
                }
                node = child;
            }
        }
    }
}
