using System.Reflection;
using System.Text.Json;
using Sluice.Contracts;
using Sluice.Jobs;
using Sluice.Jobs.Binding;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Sluice.Service.Roots;

/// <summary>
/// Every path a spec names, found in its YAML before the spec is bound (binding opens files: a model's graph, an
/// input's schema), so that nothing outside the roots is even looked at: <c>read.path</c>, <c>write.path</c>, each
/// stage's <see cref="JobFileAttribute"/> and <see cref="DataRootAttribute"/> options (model, vocab, an image root, and
/// those of registered ops), and a partition plan. Paths that the data names (<see cref="DataPathsAttribute"/> options,
/// such as <c>image_preprocess</c>'s <c>path_column</c>) are taken only with the root that confines them: without it, the
/// rows of a job's input would choose which of the server's files the job reads.
/// </summary>
internal static class SpecPaths
{
    /// <summary>A path as written in the spec: its field, its value and where.</summary>
    public sealed record Named(string Field, string Value, int? Line);

    /// <summary>An option naming paths in the data (<see cref="Paths"/>) given without the option that confines them (<see cref="Root"/>, its spec path).</summary>
    public sealed record Unconfined(Named Paths, string Root);

    /// <returns>The problems: each path outside <paramref name="roots"/>, and each option reading paths from the data without its root, as a <see cref="SpecError"/>; empty when there are none.</returns>
    public static IReadOnlyList<SpecError> Check(string yaml, string file, JobRegistry registry, RootPolicy roots) =>
        [
            .. Find(yaml, registry).Where(p => !roots.Allows(p.Value)).Select(p => new SpecError(p.Field, p.Value, Why(p.Value, roots), new SpecLocation(file, p.Line))),
            .. FindUnconfined(yaml, registry).Select(u => new SpecError(u.Root, null,
                $"is required by the job service with {u.Paths.Field} (column '{u.Paths.Value}' names files to read, and the data must not choose them from the whole server): "
                + $"give {u.Root}, a directory the paths in the column are relative to and stay under; {roots.Accepted}",
                new SpecLocation(file, u.Paths.Line))),
        ];

    private static string Why(string value, RootPolicy roots) =>
        RootPolicy.IsUrl(value) ? $"the job service takes no URLs (s3://, https://); {roots.Accepted}"
        : RootPolicy.Resolve(value) is { } resolved ? $"it resolves to {resolved}, outside the service's roots (or inside its state directory); {roots.Accepted}"
        : $"it cannot be resolved; {roots.Accepted}";

    /// <summary>The paths in a spec; none when it is not valid YAML (binding then says why).</summary>
    public static IReadOnlyList<Named> Find(string yaml, JobRegistry registry)
    {
        if (Load(yaml) is not { } root) return [];
        var found = new List<Named>();
        Add(found, Map(root, "read"), "path", "read.path");
        Add(found, Map(root, "write"), "path", "write.path");
        foreach (var (stage, path, options) in Stages(root, registry))
        {
            if (options is not null)
            {
                foreach (var field in Marked(options, typeof(JobFileAttribute))) Add(found, stage, field.Name, $"{path}.{field.Name}");
                // A root left out is not a path; one the record defaults is, though the spec does not write it.
                foreach (var field in Marked(options, typeof(DataRootAttribute)))
                    if (Value(stage, field) is { } value) found.Add(value with { Field = $"{path}.{field.Name}" });
            }
            Add(found, Map(stage, "partition"), "plan", $"{path}.partition.plan");
        }
        return found;
    }

    /// <summary>The options of a spec's stages that name paths in the data and are given (or defaulted) without the root that confines them.</summary>
    public static IReadOnlyList<Unconfined> FindUnconfined(string yaml, JobRegistry registry)
    {
        if (Load(yaml) is not { } root) return [];
        var found = new List<Unconfined>();
        foreach (var (stage, path, options) in Stages(root, registry))
        {
            if (options is null) continue;
            foreach (var field in Marked(options, typeof(DataPathsAttribute)))
            {
                if (Value(stage, field) is not { } column) continue;
                var rootMember = Attribute<DataPathsAttribute>(options, field)!.Root;
                var rootField = OptionField.Of(options).FirstOrDefault(f => f.Member == rootMember);
                if (rootField is not null && Value(stage, rootField) is not null) continue;
                // An op that names no root option cannot be confined: refused, naming the option it should have had.
                found.Add(new Unconfined(column with { Field = $"{path}.{field.Name}" }, $"{path}.{rootField?.Name ?? JsonNamingPolicy.SnakeCaseLower.ConvertName(rootMember)}"));
            }
        }
        return found;
    }

    private static YamlMappingNode? Load(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException)
        {
            return null;
        }
        return stream.Documents.Count > 0 ? stream.Documents[0].RootNode as YamlMappingNode : null;
    }

    /// <summary>Each stage's mapping, its spec path and its op's options type (null for an op the registry does not know: binding refuses it).</summary>
    private static IEnumerable<(YamlMappingNode Stage, string Path, Type? Options)> Stages(YamlMappingNode root, JobRegistry registry)
    {
        if (SpecContext.Node(root, "stages") is not YamlSequenceNode stages) yield break;
        for (var i = 0; i < stages.Children.Count; i++)
        {
            if (stages.Children[i] is not YamlMappingNode stage) continue;
            var options = Scalar(stage, StageFields.Op) is { } opName && registry.Ops.TryGetValue(opName, out var op) ? op.OptionsType : null;
            yield return (stage, $"stages[{i}]", options);
        }
    }

    /// <summary>The fields of an options record whose property (or constructor parameter) carries <paramref name="attribute"/>.</summary>
    private static IEnumerable<OptionField> Marked(Type options, Type attribute) =>
        OptionField.Of(options).Where(f => Attribute(options, f, attribute) is not null);

    private static T? Attribute<T>(Type options, OptionField field) where T : Attribute => (T?)Attribute(options, field, typeof(T));

    private static Attribute? Attribute(Type options, OptionField field, Type attribute) =>
        options.GetProperty(field.Member)?.GetCustomAttribute(attribute, inherit: true)
        ?? options.GetConstructors().SelectMany(c => c.GetParameters())
            .FirstOrDefault(p => string.Equals(p.Name, field.Member, StringComparison.OrdinalIgnoreCase) && p.IsDefined(attribute, inherit: true))?.GetCustomAttribute(attribute, inherit: true);

    /// <summary>A field's text as the stage gives it, else its record's default; null when neither is a non-empty text.</summary>
    private static Named? Value(YamlMappingNode stage, OptionField field)
    {
        var node = SpecContext.Node(stage, field.Name);
        if (node is YamlScalarNode { Value: { Length: > 0 } given }) return new Named(field.Name, given, Line(node));
        // Given as something else (a list, a mapping): binding refuses it; until then it confines nothing.
        if (node is null && field.Default is string { Length: > 0 } fallback) return new Named(field.Name, fallback, Line(stage));
        return null;
    }

    private static int? Line(YamlNode node) => node.Start.Line > 0 ? (int)node.Start.Line : null;

    private static void Add(List<Named> found, YamlMappingNode? map, string key, string field)
    {
        if (map is not null && SpecContext.Node(map, key) is YamlScalarNode { Value: { } value } node)
            found.Add(new Named(field, value, Line(node)));
    }

    private static YamlMappingNode? Map(YamlMappingNode map, string key) => SpecContext.Node(map, key) as YamlMappingNode;

    private static string? Scalar(YamlMappingNode map, string key) => (SpecContext.Node(map, key) as YamlScalarNode)?.Value;
}
