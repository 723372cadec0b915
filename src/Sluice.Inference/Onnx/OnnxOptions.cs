using System.Text.Json.Serialization;
using Sluice.Contracts;

namespace Sluice.Inference;

/// <summary>How <see cref="OnnxProcessor"/> reduces a per-token output to one vector per row.</summary>
public enum Pooling
{
    /// <summary>Outputs are written as they come from the model.</summary>
    None,

    /// <summary>Mean over the sequence of a [batch, seq, hidden] output, weighted by the <c>attention_mask</c> input.</summary>
    Mean,
}

/// <summary>How <see cref="OnnxProcessor"/> runs a model over tensor columns.</summary>
/// <param name="Model">Path of the .onnx file.</param>
public sealed record OnnxOptions([property: JobFile] string Model) : IValidatedOptions
{
    /// <summary>CUDA when the actor holds a real GPU, else the CPU.</summary>
    public const string AutoProvider = "auto";

    public const string CpuProvider = "cpu";

    /// <summary>The CUDA execution provider on the actor's first GPU; fails (never falls back) without one.</summary>
    public const string CudaProvider = "cuda";

    public static IReadOnlyList<string> ExecutionProviders { get; } = [AutoProvider, CpuProvider, CudaProvider];

    /// <summary>The model input that marks real tokens (1) and padding (0) in BERT-style models.</summary>
    public const string AttentionMaskInput = "attention_mask";

    /// <summary>Model input name → column name. Null or an input left out: the column of the input's own name.</summary>
    public IReadOnlyDictionary<string, string>? Inputs { get; init; }

    /// <summary>
    /// Model output name → column name. Null: every model output under its own name when
    /// <see cref="Pooling"/> is None, and none besides <see cref="OutputColumn"/> when it is Mean.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Outputs { get; init; }

    public Pooling Pooling { get; init; } = Pooling.None;

    /// <summary>The [batch, seq, hidden] output to pool; null: <c>last_hidden_state</c> if the model has it, else its first rank-3 output.</summary>
    public string? PoolingOutput { get; init; }

    /// <summary>L2-normalize the pooled vectors; null: true when <see cref="Pooling"/> is Mean.</summary>
    public bool? Normalize { get; init; }

    /// <summary>The column that receives the pooled vectors ([hidden] float tensor).</summary>
    public string OutputColumn { get; init; } = "embedding";

    /// <summary>Keep the columns the model read in the output batch (by default they are removed).</summary>
    public bool KeepInputs { get; init; }

    /// <summary>More columns to remove from the output batch (a pipeline stage drops the boundary tensor it consumed).</summary>
    public IReadOnlyList<string>? DropColumns { get; init; }

    /// <summary>
    /// When the model has an <c>attention_mask</c> input, cut the sequence dimension of every [batch, seq]
    /// input to the longest unmasked row of the batch. Exact for BERT-style models (padding is masked
    /// out of attention); per-token outputs are padded back with zeros so the column shape stays fixed.
    /// </summary>
    public bool TrimPadding { get; init; } = true;

    /// <summary>ONNX Runtime intra-op threads; null: the actor's cpus (at least 1).</summary>
    [JsonPropertyName("threads")]
    public int? IntraOpThreads { get; init; }

    /// <summary>
    /// Execution provider: <see cref="AutoProvider"/> (cuda when the actor holds a real GPU, else cpu),
    /// <see cref="CpuProvider"/> or <see cref="CudaProvider"/> (device = the actor's first GPU id).
    /// </summary>
    [JsonPropertyName("provider")]
    public string ExecutionProvider { get; init; } = AutoProvider;

    /// <summary>
    /// Devices one actor splits the model over (DESIGN.md §5, tensor parallel): its largest MatMul/Gemm/Conv pairs
    /// are split by channel and its embedding tables by row, one shard per GPU the actor holds (on the CPU when it
    /// holds none, or simulated ones). 1: the whole model in one session.
    /// </summary>
    public int TensorParallel { get; init; } = 1;

    /// <summary>
    /// Count one batch's activations in each GPU's need, beside the weights: measured when the job is planned by a probe
    /// Run on the CPU (synthetic rows of the stage's batch size; see <see cref="OnnxProcessor.ActivationBytesPerGpu"/>),
    /// then checked against the devices' memory and summed with the other actors sharing a device. Off by default:
    /// <c>partition</c> (auto, max_stage_bytes) sizes stages by weights only, so with it on, an auto-partitioned stage
    /// may be refused for its activations.
    /// </summary>
    public bool MeasureActivations { get; init; }

    internal bool ShouldNormalize => Normalize ?? Pooling == Pooling.Mean;

    internal void Validate()
    {
        var errors = Problems().Select(p => $"{nameof(OnnxOptions)}.{p}").ToList();
        if (errors.Count > 0) throw new SluiceException(string.Join("; ", errors));
    }

    public IEnumerable<OptionError> Problems()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (string.IsNullOrWhiteSpace(Model)) yield return new(nameof(Model), Model, "give the path of an .onnx file");
        if (!ExecutionProviders.Contains(ExecutionProvider, StringComparer.OrdinalIgnoreCase))
            yield return new(nameof(ExecutionProvider), ExecutionProvider, $"give {AutoProvider} (cuda when the actor holds a real GPU, else cpu), {CpuProvider} or {CudaProvider}");
        if (IntraOpThreads is < 1) yield return new(nameof(IntraOpThreads), IntraOpThreads.Value.ToString(inv), "give 1 or more, or leave it out to use the actor's cpus");
        if (TensorParallel < 1)
            yield return new(nameof(TensorParallel), TensorParallel.ToString(inv), "give 1 (the whole model in one session) or more (devices of one actor to split the model over)");
        if (!Enum.IsDefined(Pooling)) yield return new(nameof(Pooling), Pooling.ToString(), "give none or mean");
        if (Normalize == true && Pooling == Pooling.None) yield return new(nameof(Normalize), "true", "needs pooling: mean (only pooled vectors are normalized)");
        if (Pooling != Pooling.None && string.IsNullOrEmpty(OutputColumn)) yield return new(nameof(OutputColumn), OutputColumn, "give the column for the pooled vectors");
    }
}
