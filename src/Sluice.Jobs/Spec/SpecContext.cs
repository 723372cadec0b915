using System.Runtime.CompilerServices;
using Sluice.Execution;
using YamlDotNet.RepresentationModel;

namespace Sluice.Jobs;

/// <summary>
/// The state of binding one spec: the errors found so far (all of them, not just the first) and where each
/// YAML node came from, a line of the file or a <c>--set</c> argument.
/// </summary>
public sealed partial class SpecContext
{
    private readonly string _file;
    private readonly ConditionalWeakTable<YamlNode, string> _overrides = [];
    private readonly List<SpecError> _errors = [];

    private NodeResources? _detected;

    internal SpecContext(string file, JobRegistry registry, NodeResources? detected)
    {
        _file = file;
        Registry = registry;
        _detected = detected;
    }

    /// <summary>This node as detected, once per spec (device probes are not repeated).</summary>
    public NodeResources Detected => _detected ??= NodeResources.Detect();

    public JobRegistry Registry { get; }

    public IReadOnlyList<SpecError> Errors => _errors;

    /// <summary>The job's execution section, bound before the stages (an op may depend on it: <c>partition: auto</c>).</summary>
    public ExecutionSpec Execution { get; internal set; } = new();

    /// <summary>Whether binding may do work with effects (write a partition cache). False for <c>explain</c>.</summary>
    public bool Prepare { get; init; }

    /// <summary>Whether the job runs on a cluster (its nodes are not this one).</summary>
    public bool OnCluster { get; init; }

    public void Error(YamlNode? node, string field, string? value, string accepted) => _errors.Add(new SpecError(field, value, accepted, Locate(node)));

    public void Error(SpecError error) => _errors.Add(error);

    /// <summary>The file and line of <paramref name="node"/>, or the <c>--set</c> argument that gave it.</summary>
    public SpecLocation? Locate(YamlNode? node)
    {
        if (node is null) return new SpecLocation(_file, null);
        if (_overrides.TryGetValue(node, out var argument)) return new SpecLocation(argument, null);
        return node.Start.Line > 0 ? new SpecLocation(_file, (int)node.Start.Line) : new SpecLocation(_file, null);
    }

    internal void MarkOverride(YamlNode node, string argument) => _overrides.AddOrUpdate(node, argument);

    public static YamlNode? Node(YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var node) ? node : null;

    public static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    internal void ThrowIfAny()
    {
        if (_errors.Count > 0) throw new SpecException([.. _errors]);
    }
}
