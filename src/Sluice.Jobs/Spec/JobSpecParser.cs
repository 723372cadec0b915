using Sluice.Contracts;
using Sluice.Execution;
using Sluice.IO.ObjectStorage;
using Sluice.Jobs.Binding;
using Sluice.Plan;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Sluice.Jobs;

/// <summary>How a spec is bound: against which registry, with which effects.</summary>
public sealed record SpecOptions
{
    /// <summary>The ops and formats the spec may name; null = the built-ins.</summary>
    public JobRegistry? Registry { get; init; }

    /// <summary><c>--set key=value</c> overrides, applied before binding.</summary>
    public IReadOnlyList<string> Overrides { get; init; } = [];

    /// <summary>
    /// Whether binding may prepare what the job needs on disk (a partition cache). False for <c>explain</c>:
    /// it plans in memory and writes nothing.
    /// </summary>
    public bool Prepare { get; init; } = true;

    /// <summary>This node's resources, when already known; null = detected once.</summary>
    public NodeResources? Detected { get; init; }

    /// <summary>
    /// Where job files given as URLs (<c>model: s3://bucket/model.onnx</c>) are cached and which S3 endpoint answers;
    /// null = from the environment (<see cref="ObjectFileOptions"/>).
    /// </summary>
    public ObjectFileOptions? ObjectFiles { get; init; }

    /// <summary>The job runs on a cluster: its nodes are known only when it starts, so pool floors are not checked against this one.</summary>
    public bool OnCluster { get; init; }
}

/// <summary>Binds a YAML job spec (after <c>--set</c> overrides) to a <see cref="JobSpec"/>, or throws every problem at once.</summary>
public static class JobSpecParser
{
    private static readonly string[] TopFields = ["name", "read", "stages", "write", "execution"];

    /// <summary>Binds a spec file with the built-in registry and <c>--set</c> overrides.</summary>
    public static JobSpec ParseFile(string file, IReadOnlyList<string> overrides) => ParseFile(file, new SpecOptions { Overrides = overrides });

    /// <summary>Binds spec text with the built-in registry and <c>--set</c> overrides.</summary>
    public static JobSpec Parse(string yaml, string file, IReadOnlyList<string> overrides) => Parse(yaml, file, new SpecOptions { Overrides = overrides });

    /// <exception cref="SpecException">Every problem, each a located <see cref="SpecError"/>.</exception>
    public static JobSpec ParseFile(string file, SpecOptions? options = null)
    {
        if (!File.Exists(file)) throw new SluiceException($"job spec '{file}' does not exist; give the path of a YAML job file (see examples/)");
        return Parse(File.ReadAllText(file), file, options);
    }

    /// <exception cref="SpecException">Every problem, each a located <see cref="SpecError"/>.</exception>
    public static JobSpec Parse(string yaml, string file, SpecOptions? options = null)
    {
        options ??= new SpecOptions();
        var context = new SpecContext(file, options.Registry ?? JobRegistry.CreateDefault(), options.Detected) { Prepare = options.Prepare, OnCluster = options.OnCluster, ObjectFileOptions = options.ObjectFiles ?? new() };
        var root = Load(yaml, file, context);
        Overrides.Apply(root, options.Overrides, context);
        context.ThrowIfAny();

        foreach (var key in root.Children.Keys.OfType<YamlScalarNode>().Where(k => !TopFields.Contains(k.Value)))
            context.Error(key, key.Value ?? "?", null, $"is not a field of a job; accepted: {string.Join(", ", TopFields)}");
        var name = (SpecContext.Node(root, "name") as YamlScalarNode)?.Value is { Length: > 0 } n ? n : Path.GetFileNameWithoutExtension(file);
        var execution = Section(context, root, "execution", required: false) is { } e ? OptionsBinder.Bind<ExecutionSpec>(context, e, "execution") : new ExecutionSpec();
        if (execution is { SimGpuMemory: not null, SimGpus: not > 0 } && Section(context, root, "execution", false) is { } ex)
            context.Error(SpecContext.Node(ex, "sim_gpu_memory"), "execution.sim_gpu_memory", null, "is the memory of each simulated GPU: give execution.sim_gpus too (e.g. sim_gpus: 4)");
        context.Execution = execution ?? new ExecutionSpec();
        var (read, source) = ReadSection(context, root);
        var (write, writeFormat, writeOptions) = WriteSection(context, root);
        var stages = Stages(context, root);
        context.ThrowIfAny();
        var spec = new JobSpec(name, read!, stages, write!, context.Execution) { Source = source!, WriteFormat = writeFormat!, WriteOptions = writeOptions!, Node = context.Detected, ObjectFiles = context.ObjectFiles, ObjectFileOptions = context.ObjectFileOptions };
        PreStartChecks.Run(spec, root, context);
        context.ThrowIfAny();
        return spec;
    }

    private static YamlMappingNode Load(string yaml, string file, SpecContext context)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new SpecException([new SpecError("(the file)", null, $"not valid YAML: {e.InnerException?.Message ?? e.Message}", new SpecLocation(file, (int)e.Start.Line))]);
        }
        catch (InvalidOperationException e)
        {
            // YamlDotNet's scanner throws this on some unterminated flow collections.
            throw new SpecException([new SpecError("(the file)", null, $"not valid YAML ({e.Message}); check for an unclosed {{ or [", new SpecLocation(file, null))]);
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new SpecException([new SpecError("(the file)", null, "a job spec is a mapping with read, stages and write", new SpecLocation(file, null))]);
        _ = context;
        return root;
    }

    private static YamlMappingNode? Section(SpecContext context, YamlMappingNode root, string key, bool required)
    {
        var node = SpecContext.Node(root, key);
        if (node is null)
        {
            if (required) context.Error(root, key, null, "is required");
            return null;
        }
        if (node is YamlMappingNode map) return map;
        context.Error(node, key, (node as YamlScalarNode)?.Value ?? "a list", "give a mapping (key: value pairs)");
        return null;
    }

    private static (ReadSpec?, Datasource?) ReadSection(SpecContext context, YamlMappingNode root)
    {
        var node = Section(context, root, "read", required: true);
        if (node is null) return (null, null);
        var formats = context.Registry.ReadFormats;
        var formatName = Scalar(context, node, "read.format", "format", $"one of: {string.Join(", ", formats.Keys)}");
        if (formatName is null) return (null, null);
        if (!formats.TryGetValue(formatName, out var format))
        {
            context.Error(SpecContext.Node(node, "format"), "read.format", formatName, $"give one of: {string.Join(", ", formats.Keys)}");
            return (null, null);
        }
        var path = format.TakesPath ? Scalar(context, node, "read.path", "path", "a file, a directory or a glob such as data/*.parquet") : "";
        if (Sluice.IO.ObjectStorage.DatasetPaths.ReadReason(path) is { } readUrl)
        {
            context.Error(SpecContext.Node(node, "path"), "read.path", Sluice.IO.ObjectStorage.DatasetPaths.WithoutCredentials(path!), readUrl);
            return (null, null);
        }
        var readOptions = OptionsBinder.Bind<ReadOptions>(context, node, "read", handledElsewhere: NotFieldsOf<ReadOptions>(node));
        var source = format.Bind(path ?? "", node, context);
        return path is null || readOptions is null || source is null ? (null, null) : (new ReadSpec(formatName, path, readOptions), source);
    }

    private static (WriteSpec?, WriteFormat?, object?) WriteSection(SpecContext context, YamlMappingNode root)
    {
        var node = Section(context, root, "write", required: true);
        if (node is null) return (null, null, null);
        // The format's own fields (rows_per_file, compression, ...) are bound by the format, once it is known.
        var write = OptionsBinder.Bind<WriteSpec>(context, node, "write", handledElsewhere: NotFieldsOf<WriteSpec>(node));
        if (write is null) return (null, null, null);
        if (Sluice.IO.ObjectStorage.DatasetPaths.Reason(write.Path) is { } writeUrl)
        {
            context.Error(SpecContext.Node(node, "path"), "write.path", Sluice.IO.ObjectStorage.DatasetPaths.WithoutCredentials(write.Path), writeUrl);
            return (null, null, null);
        }
        if (context.Registry.WriteFormats.TryGetValue(write.Format, out var format))
            return format.Bind(node, context) is { } options ? (write, format, options) : (null, null, null);
        context.Error(SpecContext.Node(node, "format"), "write.format", write.Format, $"give one of: {string.Join(", ", context.Registry.WriteFormats.Keys)}");
        return (null, null, null);
    }

    private static List<StageSpec> Stages(SpecContext context, YamlMappingNode root)
    {
        var stages = new List<StageSpec>();
        var node = SpecContext.Node(root, "stages");
        if (node is null) return stages;
        if (node is not YamlSequenceNode seq)
        {
            context.Error(node, "stages", null, "give a list of stages (- name: ..., op: ...)");
            return stages;
        }
        var ops = context.Registry.Ops;
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < seq.Children.Count; i++)
        {
            var path = $"stages[{i}]";
            if (seq.Children[i] is not YamlMappingNode s)
            {
                context.Error(seq.Children[i], path, null, "give a mapping with name and op");
                continue;
            }
            var opName = Scalar(context, s, $"{path}.op", StageFields.Op, $"one of: {string.Join(", ", ops.Keys)}");
            if (opName is null) continue;
            if (!ops.TryGetValue(opName, out var op))
            {
                context.Error(SpecContext.Node(s, StageFields.Op), $"{path}.op", opName, $"give one of: {string.Join(", ", ops.Keys)}");
                continue;
            }
            var run = OptionsBinder.Bind<MapBatchesOptions>(context, s, path, handledElsewhere: NotFieldsOf<MapBatchesOptions>(s));
            if (run is null) continue;
            var name = run.Name ?? opName;
            if (!names.Add(name)) context.Error(SpecContext.Node(s, "name"), $"{path}.name", name, "another stage has this name; give each stage its own name");
            run = run with { Name = name, Resources = run.Resources ?? op.DefaultResources };
            var plan = op.Bind(new StageInput(name, path, s, run), context);
            if (plan is not null) stages.Add(new StageSpec(name, opName, path, run, plan));
        }
        return stages;
    }

    private static string? Scalar(SpecContext context, YamlMappingNode node, string path, string key, string accepted)
    {
        var value = SpecContext.Node(node, key);
        if (value is YamlScalarNode { Value: { Length: > 0 } text }) return text;
        context.Error(value ?? node, path, value is null ? null : (value as YamlScalarNode)?.Value ?? "a mapping", value is null ? $"is required; give {accepted}" : $"give {accepted}");
        return null;
    }

    /// <summary>The keys of <paramref name="node"/> that are not fields of <typeparamref name="T"/> (another binder reports those).</summary>
    private static string[] NotFieldsOf<T>(YamlMappingNode node)
    {
        var fields = OptionField.Of(typeof(T)).Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        return [.. node.Children.Keys.OfType<YamlScalarNode>().Select(k => k.Value ?? "").Where(k => !fields.Contains(k))];
    }
}
