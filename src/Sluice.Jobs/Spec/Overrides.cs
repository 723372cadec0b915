using YamlDotNet.RepresentationModel;

namespace Sluice.Jobs;

/// <summary>
/// Applies <c>--set key=value</c> to the YAML tree before binding. A key is a dotted path; a stage is named by
/// its name or its index: <c>stages.embed.batch_size=32</c>, <c>stages[1].pool.max=4</c>, <c>write.path=out/x</c>.
/// The value is read as YAML scalar text. Each node a <c>--set</c> makes is marked with its argument, so an error
/// about it names the argument, not a line of the file.
/// </summary>
internal static class Overrides
{
    public static void Apply(YamlMappingNode root, IReadOnlyList<string> overrides, SpecContext context)
    {
        foreach (var o in overrides)
        {
            var argument = $"--set {o}";
            var at = new SpecLocation(argument, null);
            var eq = o.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                context.Error(new SpecError("--set", o, "give key=value, e.g. --set stages.embed.batch_size=32", at));
                continue;
            }
            var key = o[..eq].Trim();
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
                        : seq.Children.OfType<YamlMappingNode>().FirstOrDefault(m => (SpecContext.Node(m, "name") as YamlScalarNode)?.Value == seg);
                    if (found is null || last)
                    {
                        context.Error(new SpecError(key, seg, "no stage has this name or index; name a stage by its name or index (stages.embed.batch_size, stages[1].pool.max)", at));
                        break;
                    }
                    node = found;
                    continue;
                }
                if (node is not YamlMappingNode map)
                {
                    context.Error(new SpecError(key, seg, "is inside a value that is not a mapping", at));
                    break;
                }
                var k = new YamlScalarNode(seg);
                if (last)
                {
                    var value = new YamlScalarNode(o[(eq + 1)..]);
                    context.MarkOverride(value, argument);
                    // A key the file did not have: an unknown-field error names the argument too.
                    if (!map.Children.ContainsKey(k)) context.MarkOverride(k, argument);
                    map.Children[k] = value;
                    break;
                }
                if (!map.Children.TryGetValue(k, out var child))
                {
                    child = new YamlMappingNode();
                    context.MarkOverride(k, argument);
                    context.MarkOverride(child, argument);
                    map.Children[k] = child;
                }
                node = child;
            }
        }
    }
}
