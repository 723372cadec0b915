using Sluice.Contracts;
using Sluice.Jobs;
using Sluice.Jobs.Binding;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Sluice.Service.Roots;

/// <summary>
/// Every path a spec names, found in its YAML before the spec is bound (binding opens files: a model's graph, an
/// input's schema), so that nothing outside the roots is even looked at: <c>read.path</c>, <c>write.path</c>, each
/// stage's <see cref="JobFileAttribute"/> options (model, vocab, and those of registered ops), and a partition plan.
/// </summary>
internal static class SpecPaths
{
    /// <summary>A path as written in the spec: its field, its value and where.</summary>
    public sealed record Named(string Field, string Value, int? Line);

    /// <returns>The problems: each path outside <paramref name="roots"/>, as a <see cref="SpecError"/>; empty when all are inside.</returns>
    public static IReadOnlyList<SpecError> Check(string yaml, string file, JobRegistry registry, RootPolicy roots) =>
        [.. Find(yaml, registry).Where(p => !roots.Allows(p.Value)).Select(p => new SpecError(p.Field, p.Value, Why(p.Value, roots), new SpecLocation(file, p.Line)))];

    private static string Why(string value, RootPolicy roots) =>
        RootPolicy.IsUrl(value) ? $"the job service takes no URLs (s3://, https://); {roots.Accepted}"
        : RootPolicy.Resolve(value) is { } resolved ? $"it resolves to {resolved}, outside the service's roots (or inside its state directory); {roots.Accepted}"
        : $"it cannot be resolved; {roots.Accepted}";

    /// <summary>The paths in a spec; none when it is not valid YAML (binding then says why).</summary>
    public static IReadOnlyList<Named> Find(string yaml, JobRegistry registry)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException)
        {
            return [];
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root) return [];
        var found = new List<Named>();
        Add(found, Map(root, "read"), "path", "read.path");
        Add(found, Map(root, "write"), "path", "write.path");
        if (SpecContext.Node(root, "stages") is YamlSequenceNode stages)
        {
            for (var i = 0; i < stages.Children.Count; i++)
            {
                if (stages.Children[i] is not YamlMappingNode stage) continue;
                var path = $"stages[{i}]";
                if (Scalar(stage, StageFields.Op) is { } opName && registry.Ops.TryGetValue(opName, out var op))
                    foreach (var field in JobFileFields(op.OptionsType)) Add(found, stage, field, $"{path}.{field}");
                Add(found, Map(stage, "partition"), "plan", $"{path}.partition.plan");
            }
        }
        return found;
    }

    /// <summary>The spec names of an options record's <see cref="JobFileAttribute"/> fields.</summary>
    private static IEnumerable<string> JobFileFields(Type options) =>
        OptionField.Of(options).Where(f => options.GetProperty(f.Member)?.IsDefined(typeof(JobFileAttribute), inherit: true) == true).Select(f => f.Name);

    private static void Add(List<Named> found, YamlMappingNode? map, string key, string field)
    {
        if (map is not null && SpecContext.Node(map, key) is YamlScalarNode { Value: { } value } node)
            found.Add(new Named(field, value, node.Start.Line > 0 ? (int)node.Start.Line : null));
    }

    private static YamlMappingNode? Map(YamlMappingNode map, string key) => SpecContext.Node(map, key) as YamlMappingNode;

    private static string? Scalar(YamlMappingNode map, string key) => (SpecContext.Node(map, key) as YamlScalarNode)?.Value;
}
