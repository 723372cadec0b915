using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Sluice.Inference.Partitioning.TensorParallel;

namespace Sluice.Inference;

/// <summary>A model input fed from a column.</summary>
internal sealed record InputBinding(string ModelInput, string Column, NodeMetadata Metadata);

/// <summary>A model output written to a column.</summary>
internal sealed record OutputBinding(string ModelOutput, string Column, NodeMetadata Metadata);

/// <summary>
/// One loaded session and the resolved column bindings, checked against the model's metadata once,
/// at initialization. Owns the session's native memory.
/// </summary>
internal sealed class OnnxModel : IDisposable
{
    private OnnxModel(string path, IModelRunner runner, OnnxOptions options)
    {
        Path = path;
        Runner = runner;
        Inputs = BindInputs(options);
        Outputs = BindOutputs(options);
        Mask = Inputs.FirstOrDefault(b => b.ModelInput == OnnxOptions.AttentionMaskInput && b.Metadata.ElementDataType == TensorElementType.Int64);
        if (options.Pooling == Pooling.Mean) PoolingOutput = ResolvePoolingOutput(options);
        RunOutputs = Outputs.Select(o => o.ModelOutput).Append(PoolingOutput).OfType<string>().Distinct().ToArray();
    }

    public string Path { get; }

    /// <summary>One session, or the shard sessions of a tensor-parallel model (<see cref="OnnxOptions.TensorParallel"/>).</summary>
    public IModelRunner Runner { get; }

    public IReadOnlyList<InputBinding> Inputs { get; }

    public IReadOnlyList<OutputBinding> Outputs { get; }

    /// <summary>The Int64 <c>attention_mask</c> input, if the model has one: drives trimming and pooling.</summary>
    public InputBinding? Mask { get; }

    /// <summary>The [batch, seq, hidden] output that Mean pooling reduces.</summary>
    public string? PoolingOutput { get; }

    /// <summary>The outputs one Run asks for.</summary>
    public string[] RunOutputs { get; }

    /// <param name="options">The processor's options.</param>
    /// <param name="intraOpThreads">ONNX Runtime intra-op threads.</param>
    /// <param name="addProvider">Adds an execution provider ahead of the CPU (CUDA); null: CPU only.</param>
    /// <exception cref="BadInputException">The model file does not exist.</exception>
    /// <exception cref="SluiceException">The file is not a model ONNX Runtime can load, the options name inputs or outputs it lacks, or the provider cannot start.</exception>
    public static OnnxModel Load(OnnxOptions options, int intraOpThreads, Action<SessionOptions>? addProvider = null)
    {
        var path = ExistingPath(options);
        SessionRunner? runner = null;
        try
        {
            runner = CreateSession(path, intraOpThreads, addProvider);
            return new OnnxModel(path, runner, options);
        }
        catch (Exception e)
        {
            runner?.Dispose();
            if (e is SluiceException) throw;
            throw new SluiceException($"model file '{path}' could not be loaded by ONNX Runtime: {e.Message}", e);
        }
    }

    /// <summary>The model split over <see cref="OnnxOptions.TensorParallel"/> shards, shard <c>i</c>'s sessions made with <paramref name="addProvider"/>(i).</summary>
    /// <param name="intraOpThreads">The actor's intra-op threads, divided among the shards (at least 1 each).</param>
    /// <exception cref="BadInputException">The model file does not exist or has nothing to split.</exception>
    /// <exception cref="SluiceException">As <see cref="Load"/>.</exception>
    public static OnnxModel LoadTensorParallel(OnnxOptions options, int intraOpThreads, Func<int, Action<SessionOptions>?> addProvider)
    {
        var path = ExistingPath(options);
        TensorParallelModel? runner = null;
        try
        {
            runner = TensorParallelModel.Load(path, options.TensorParallel, intraOpThreads, addProvider);
            return new OnnxModel(path, runner, options);
        }
        catch (Exception e)
        {
            runner?.Dispose();
            if (e is SluiceException) throw;
            throw new SluiceException($"model file '{path}' could not be loaded tensor-parallel ({options.TensorParallel} shards) by ONNX Runtime: {e.Message}", e);
        }
    }

    /// <summary>One session with Sluice's settings; owns its options.</summary>
    internal static SessionRunner CreateSession(byte[] model, int intraOpThreads, Action<SessionOptions>? addProvider) =>
        CreateSession(intraOpThreads, addProvider, o => new InferenceSession(model, o));

    internal static SessionRunner CreateSession(string path, int intraOpThreads, Action<SessionOptions>? addProvider) =>
        CreateSession(intraOpThreads, addProvider, o => new InferenceSession(path, o));

    private static SessionRunner CreateSession(int intraOpThreads, Action<SessionOptions>? addProvider, Func<SessionOptions, InferenceSession> create)
    {
        var sessionOptions = new SessionOptions
        {
            IntraOpNumThreads = intraOpThreads,
            // One Run at a time per session (OnnxProcessor serializes Run), so inter-op threads would idle.
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        try
        {
            // Spinning intra-op threads steal the cores other actors were budgeted; measured 134 vs 114 rows/s
            // for MiniLM at 2 threads without it (research/onnx.md §2).
            sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
            addProvider?.Invoke(sessionOptions);
            return new SessionRunner(create(sessionOptions), sessionOptions);
        }
        catch
        {
            sessionOptions.Dispose();
            throw;
        }
    }

    private static string ExistingPath(OnnxOptions options)
    {
        var path = System.IO.Path.GetFullPath(options.Model);
        if (!File.Exists(path)) throw new BadInputException($"model file '{path}' does not exist (OnnxOptions.Model)");
        return path;
    }

    public void Dispose() => Runner.Dispose();

    public static string Describe(NodeMetadata metadata) =>
        metadata.IsTensor
            ? $"{metadata.ElementDataType} [{string.Join(',', metadata.Dimensions.Select((d, i) => d >= 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : Symbol(metadata, i)))}]"
            : metadata.OnnxValueType.ToString();

    private static string Symbol(NodeMetadata metadata, int i) =>
        metadata.SymbolicDimensions is { } s && i < s.Length && !string.IsNullOrEmpty(s[i]) ? s[i] : "?";

    private List<InputBinding> BindInputs(OnnxOptions options)
    {
        var metadata = Runner.InputMetadata;
        Unknown("OnnxOptions.Inputs", "input", options.Inputs, metadata);
        var bindings = new List<InputBinding>();
        foreach (var (name, meta) in metadata)
        {
            RequireSupported("input", name, meta);
            var column = options.Inputs is { } map && map.TryGetValue(name, out var c) ? c : name;
            bindings.Add(new InputBinding(name, column, meta));
        }
        return bindings;
    }

    private List<OutputBinding> BindOutputs(OnnxOptions options)
    {
        var metadata = Runner.OutputMetadata;
        Unknown("OnnxOptions.Outputs", "output", options.Outputs, metadata);
        IEnumerable<KeyValuePair<string, string>> chosen = options.Outputs
            ?? (options.Pooling == Pooling.None ? metadata.Keys.Select(k => KeyValuePair.Create(k, k)) : []);
        var bindings = new List<OutputBinding>();
        foreach (var (name, column) in chosen)
        {
            RequireSupported("output", name, metadata[name]);
            bindings.Add(new OutputBinding(name, column, metadata[name]));
        }
        return bindings;
    }

    private string ResolvePoolingOutput(OnnxOptions options)
    {
        var metadata = Runner.OutputMetadata;
        var name = options.PoolingOutput
            ?? (metadata.ContainsKey("last_hidden_state") ? "last_hidden_state" : metadata.FirstOrDefault(kv => kv.Value.IsTensor && kv.Value.Dimensions.Length == 3).Key);
        if (name is null || !metadata.TryGetValue(name, out var meta))
            throw new SluiceException($"OnnxOptions.PoolingOutput: {(name is null ? "the model has no [batch, seq, hidden] output to pool" : $"model output '{name}' does not exist")} in '{Path}'; its outputs: {List(metadata)}");
        if (!meta.IsTensor || meta.ElementDataType != TensorElementType.Float || meta.Dimensions.Length != 3)
            throw new SluiceException($"OnnxOptions.PoolingOutput: model output '{name}' is {Describe(meta)}; Mean pooling needs a Float [batch, seq, hidden] output; the model's outputs: {List(metadata)}");
        if (Runner.InputMetadata.TryGetValue(OnnxOptions.AttentionMaskInput, out var mask) && mask.ElementDataType != TensorElementType.Int64)
            throw new SluiceException($"OnnxOptions.Pooling: Mean reads the '{OnnxOptions.AttentionMaskInput}' input as Int64, but the model's is {Describe(mask)}");
        return name;
    }

    private void Unknown(string option, string kind, IReadOnlyDictionary<string, string>? map, IReadOnlyDictionary<string, NodeMetadata> metadata)
    {
        if (map is null) return;
        var unknown = map.Keys.Where(k => !metadata.ContainsKey(k)).ToList();
        if (unknown.Count > 0)
            throw new SluiceException($"{option}: model {kind} {string.Join(", ", unknown.Select(u => $"'{u}'"))} does not exist in '{Path}'; its {kind}s: {List(metadata)}");
    }

    private void RequireSupported(string kind, string name, NodeMetadata meta)
    {
        if (!meta.IsTensor || TensorElements.Size(meta.ElementDataType) == 0)
            throw new SluiceException($"model {kind} '{name}' of '{Path}' is {Describe(meta)}; Sluice feeds and reads tensors of {string.Join(", ", TensorElements.Supported)}");
    }

    private static string List(IReadOnlyDictionary<string, NodeMetadata> metadata) =>
        string.Join(", ", metadata.Select(kv => $"{kv.Key} ({Describe(kv.Value)})"));
}
