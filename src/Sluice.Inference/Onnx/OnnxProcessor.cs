using Apache.Arrow;
using Microsoft.ML.OnnxRuntime;
using Sluice.Contracts;
using Sluice.Inference.Partitioning.TensorParallel;

namespace Sluice.Inference;

/// <summary>
/// Runs an ONNX model over tensor columns, one session per actor and one Run per batch.
/// Emits: the input batch (less the columns the model read, unless <see cref="OnnxOptions.KeepInputs"/>)
/// plus one tensor column per chosen output and, with pooling, the pooled vectors in <see cref="OnnxOptions.OutputColumn"/>.
/// Overlaps: concurrent calls convert columns and outputs in parallel; only the Run itself takes turns.
/// Devices: with provider auto or cuda, an actor holding a real GPU runs its session on the CUDA
/// provider on its first GPU id; a stage whose CUDA provider or libraries are missing is refused by
/// <see cref="Preflight"/> before the job starts, never run on the CPU instead. With provider auto, an actor
/// holding a simulated GPU runs on the CPU and holds its simulated device for each Run (so device time,
/// exclusivity and utilization are those of the real model). With <see cref="OnnxOptions.TensorParallel"/>
/// N &gt; 1 the actor splits the model over its first N GPUs (or N CPU shards without real GPUs), one session
/// per shard, and combines their results. Device memory: each GPU holds the model's weights, or its shard of
/// them (<see cref="DeviceBytesPerGpu"/>), plus, with <see cref="OnnxOptions.MeasureActivations"/>, one batch's activations
/// (<see cref="ActivationBytesPerGpu"/>, measured by a probe Run when the job is planned); a stage needing more than the
/// devices have is refused before it starts.
/// Fails when: the model file is missing or the options name inputs/outputs the model lacks (at
/// initialization); a column is missing or its element type or row shape does not fit its model input.
/// </summary>
public sealed class OnnxProcessor : IBatchProcessor, IPreflightCheck, IDeviceMemoryNeed
{
    private readonly OnnxOptions _options;
    private readonly CudaSupport _cuda;

    // One session per actor, used by up to max_concurrency calls: a session runs one Run at a time
    // well (its intra-op threads are the actor's cores); two Runs would only split those cores and
    // double the activation memory. Conversions outside the gate overlap the Run of another call.
    private readonly SemaphoreSlim _runGate = new(1, 1);
    private OnnxModel? _model;
    private SimulatedDevices? _simulated;
    private int[] _simulatedDevices = [];

    public OnnxProcessor(OnnxOptions options)
        : this(options, CudaSupport.ThisProcess)
    {
    }

    internal OnnxProcessor(OnnxOptions options, CudaSupport cuda)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _cuda = cuda;
    }

    /// <summary>
    /// Refuses a stage that would use CUDA (provider cuda, or auto with gpus) where it cannot: on
    /// simulated GPUs, or where ONNX Runtime's CUDA provider or the CUDA/cuDNN libraries are missing.
    /// </summary>
    public IEnumerable<string> Preflight(string stage, ResourceRequest resources, bool gpusAreSimulated)
    {
        ArgumentNullException.ThrowIfNull(resources);
        var problems = _cuda.Preflight(_options.ExecutionProvider, stage, resources, gpusAreSimulated);
        if (_options.TensorParallel > 1 && resources.Gpus > 0 && resources.Gpus < _options.TensorParallel && CudaSupport.WantsCuda(_options.ExecutionProvider, resources) && !gpusAreSimulated)
            problems = problems.Append($"stage '{stage}': OnnxOptions.TensorParallel is {_options.TensorParallel} but each actor holds {resources.Gpus} gpus; give the stage gpus: {_options.TensorParallel} (one per shard) or a smaller tensor_parallel");
        return problems;
    }

    /// <summary>
    /// The model file's bytes (its weights, nearly all of it) on each GPU of the actor; tensor-parallel, the most any
    /// one device holds: its shard of the split weights, plus the replicated rest on the first.
    /// </summary>
    public long DeviceBytesPerGpu(ResourceRequest resources) => DeviceWeights.PerDevice(_options.Model, _options.TensorParallel).Max();

    /// <summary>
    /// With <see cref="OnnxOptions.MeasureActivations"/> (else 0), measured by a probe Run on the CPU
    /// (<see cref="ActivationProbe"/>): synthetic zero rows, dynamic non-batch
    /// dimensions at <see cref="ActivationProbe.DynamicLength"/>, the peak resident memory of the Run. Tensor-parallel, the
    /// whole model's activations stand for each shard's (an upper bound). 0 where the model cannot be loaded: the actor's
    /// start says why.
    /// </summary>
    public long ActivationBytesPerGpu(ResourceRequest resources, int batchRows)
    {
        if (!_options.MeasureActivations || !File.Exists(_options.Model)) return 0;
        try
        {
            return ActivationProbe.Measure(_options, batchRows);
        }
        catch (Exception e) when (e is SluiceException or OnnxRuntimeException)
        {
            return 0;
        }
    }

    public string HowToFit(long deviceBytes) =>
        $"cut the model into pipeline stages that each fit: partition: {{ max_stage_bytes: {deviceBytes / (1024 * 1024)}MiB }} (or partition: auto)" +
        (_options.TensorParallel > 1 ? $", or split it over more devices than tensor_parallel: {_options.TensorParallel}" : ", or split its largest layers over devices: tensor_parallel: N");

    public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_model is not null) throw new InvalidOperationException("OnnxProcessor: InitializeAsync has already run");
        var threads = _options.IntraOpThreads ?? Math.Max(1, (int)Math.Floor(context.Resources.Cpus));
        if (_options.TensorParallel > 1)
        {
            var devices = CudaSupport.Devices(_options.ExecutionProvider, context, _options.TensorParallel);
            _model = OnnxModel.LoadTensorParallel(_options, threads, shard => devices is null ? null : o => _cuda.AppendTo(o, devices[shard], context.Operator));
            return ValueTask.CompletedTask;
        }
        var device = CudaSupport.Device(_options.ExecutionProvider, context);
        _model = OnnxModel.Load(_options, threads, device is { } d ? o => _cuda.AppendTo(o, d, context.Operator) : null);
        if (device is null && context.Simulated is { } simulated && context.GpuIds.Count > 0)
        {
            _simulated = simulated;
            // Tensor-parallel, the actor's shards stand in for its first N devices: it holds them all.
            _simulatedDevices = [.. context.GpuIds.Take(Math.Max(1, _options.TensorParallel))];
        }
        return ValueTask.CompletedTask;
    }

    public async ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var model = _model ?? throw new InvalidOperationException("OnnxProcessor: InitializeAsync has not run");

        using var inputs = TensorInputs.Prepare(batch, model, _options.TrimPadding);
        using var runOptions = new RunOptions();
        using var outputs = await RunAsync(model, inputs, runOptions, batch.Length, cancellationToken).ConfigureAwait(false);

        var drop = new HashSet<string>(_options.DropColumns ?? [], StringComparer.Ordinal);
        if (!_options.KeepInputs) drop.UnionWith(model.Inputs.Select(b => b.Column));
        var result = drop.Count > 0 ? ArrowBatches.WithoutColumns(batch, drop) : batch;
        foreach (var binding in model.Outputs)
        {
            var (field, array) = TensorOutputs.ToColumn(binding, outputs[System.Array.IndexOf(model.RunOutputs, binding.ModelOutput)], batch.Length, inputs);
            result = ArrowBatches.WithColumn(result, field, array);
        }
        if (model.PoolingOutput is { } pooled)
        {
            var (field, array) = Pool(outputs[System.Array.IndexOf(model.RunOutputs, pooled)], batch.Length, inputs);
            result = ArrowBatches.WithColumn(result, field, array);
        }
        return result;
    }

    public ValueTask DisposeAsync()
    {
        _model?.Dispose();
        _model = null;
        _runGate.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<IDisposableReadOnlyCollection<OrtValue>> RunAsync(OnnxModel model, PreparedInputs inputs, RunOptions runOptions, int rows, CancellationToken cancellationToken)
    {
        await _runGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var registration = cancellationToken.Register(static o => ((RunOptions)o!).Terminate = true, runOptions);
            if (_simulated is { } devices)
                return await devices.HoldAsync(_simulatedDevices, () => model.Runner.Run(runOptions, inputs.Names, inputs.Values, model.RunOutputs), cancellationToken).ConfigureAwait(false);
            return model.Runner.Run(runOptions, inputs.Names, inputs.Values, model.RunOutputs);
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (OnnxRuntimeException e)
        {
            throw new SluiceException($"model '{model.Path}' failed on a batch of {rows} rows: {e.Message}", e);
        }
        finally
        {
            _runGate.Release();
        }
    }

    private (Field, IArrowArray) Pool(OrtValue hidden, int rows, PreparedInputs inputs)
    {
        var shape = hidden.GetTensorTypeAndShape().Shape;
        var (sequence, size) = ((int)shape[1], (int)shape[2]);
        if (inputs.Mask is not null && sequence != inputs.Sequence)
            throw new SluiceException($"OnnxOptions.PoolingOutput: output '{_model!.PoolingOutput}' has {sequence} positions per row but the attention mask fed {inputs.Sequence}; Mean pooling needs a per-token output");
        var mask = inputs.Mask is { } m ? TensorColumns.Elements<long>(m) : default;
        var pooled = MeanPooling.Pool(hidden.GetTensorDataAsSpan<float>(), rows, sequence, size, mask, inputs.FullSequence, _options.ShouldNormalize);
        return TensorColumns.Create(_options.OutputColumn, pooled, rows, [size]);
    }
}
