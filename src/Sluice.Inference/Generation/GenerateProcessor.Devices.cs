using Microsoft.ML.OnnxRuntime;
using Sluice.Contracts;
using Sluice.Inference.Partitioning.TensorParallel;

namespace Sluice.Inference.Generation;

/// <summary>
/// Devices: what each GPU of a generate actor holds (the decoder's weights, or with <see cref="GenerateOptions.TensorParallel"/>
/// N its shard of them, plus the KV cache at full load, <see cref="KvCacheNeed"/>), stated when the job is planned so a
/// stage that cannot fit the largest GPU is refused before it starts; and where the decoder's sessions run.
/// </summary>
public sealed partial class GenerateProcessor : IDeviceMemoryNeed
{
    /// <summary>
    /// The decoder's weights on the fullest device: the model file, or, tensor-parallel, the first device's shard plus
    /// the replicated rest (attention, norms, LM head), which is where the KV cache lives too.
    /// </summary>
    public long DeviceBytesPerGpu(ResourceRequest resources) =>
        _weightsPerDevice ??= DeviceWeights.PerDevice(GenerationModel.ModelPath(_options.Model), _options.TensorParallel).Max();

    /// <summary>The KV cache at full load (<see cref="KvCacheNeed"/>), whatever the batch: max_batch sets it, not batch_size.</summary>
    public long ActivationBytesPerGpu(ResourceRequest resources, int batchRows) => KvNeed()?.Bytes ?? 0;

    public string? BeyondWeights => KvNeed()?.Describe();

    public string? HowToNeedLessBeyondWeights => $"lower max_batch (now {_options.MaxBatch})";

    public string HowToFit(long deviceBytes) => _options.TensorParallel > 1
        ? $"split it over more devices than tensor_parallel: {_options.TensorParallel} (with as many gpus per actor)"
        : "split its MLP and embedding weights over an actor's devices: tensor_parallel: N (with gpus: N)";

    // Planning asks a probe several times (need, refusal, its wording); each answer reads the model file, so once each.
    private long? _weightsPerDevice;
    private Lazy<KvCacheNeed?>? _kvNeed;

    private KvCacheNeed? KvNeed() => (_kvNeed ??= new(() =>
    {
        var path = GenerationModel.ModelPath(_options.Model);
        if (!File.Exists(path)) return null;
        try
        {
            return KvCacheNeed.Of(_options, Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)));
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            return null; // the actor's start says the file is not a model
        }
    })).Value;

    /// <summary>
    /// The decoder on the actor's device (CUDA on a real GPU, as op onnx picks it), or split over its first N devices;
    /// on simulated GPUs it runs on the CPU and holds the actor's N simulated devices for each Run.
    /// </summary>
    private GenerationModel LoadModel(ProcessorContext context, int threads)
    {
        var shards = _options.TensorParallel;
        Func<int, Action<SessionOptions>?> provider;
        if (shards > 1)
        {
            var devices = CudaSupport.Devices(_options.ExecutionProvider, context, shards);
            provider = shard => devices is null ? null : o => _cuda.AppendTo(o, devices[shard], context.Operator);
        }
        else
        {
            var device = CudaSupport.Device(_options.ExecutionProvider, context);
            provider = _ => device is { } d ? o => _cuda.AppendTo(o, d, context.Operator) : null;
        }
        Func<IModelRunner, IModelRunner>? hold = null;
        if (context.Simulated is { } simulated && context.GpuIds.Count > 0 && CudaSupport.Device(_options.ExecutionProvider, context) is null)
        {
            int[] held = [.. context.GpuIds.Take(shards)];
            hold = runner => new SimulatedDeviceRunner(runner, simulated, held);
        }
        return GenerationModel.Load(_options, threads, provider, hold);
    }
}
