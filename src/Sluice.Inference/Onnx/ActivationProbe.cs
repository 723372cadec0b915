using Microsoft.ML.OnnxRuntime;

namespace Sluice.Inference;

/// <summary>
/// Measures what one Run of a model needs beyond its weights (activations, kernel scratch, outputs): the model runs on
/// the CPU over synthetic all-zero inputs and the process's peak resident memory during the Run is read against the
/// resident memory just before it (Linux <c>/proc/self/status</c> VmHWM, reset through <c>/proc/self/clear_refs</c>;
/// where the peak cannot be reset, the resident growth after the Run). The session runs without ONNX Runtime's CPU
/// arena, and the C heap is trimmed before each Run, so the peak is what the Run holds at once, not what an arena or
/// the C heap kept from an earlier Run. This is a measurement on the CPU: the
/// CUDA provider's kernels (cuDNN workspaces) and its arena may hold more on a GPU.
/// </summary>
internal static class ActivationProbe
{
    /// <summary>Rows of the larger probe Run; a bigger batch is extrapolated from two Runs (activations grow linearly in rows).</summary>
    public const int MaxProbeRows = 32;

    /// <summary>The length given to a dynamic dimension other than the batch (a sequence): BERT-style models are fed 128 tokens by default.</summary>
    public const int DynamicLength = 128;

    /// <returns>The bytes one Run of <paramref name="batchRows"/> rows needs beyond the loaded model; 0 where nothing could be measured.</returns>
    public static long Measure(OnnxOptions options, int batchRows)
    {
        using var model = OnnxModel.Load(options, intraOpThreads: 1, static o => o.EnableCpuMemArena = false);
        var small = Math.Max(1, Math.Min(batchRows, MaxProbeRows / 2));
        var large = Math.Min(batchRows, MaxProbeRows);
        // The first Run also pays one-time costs (kernel caches, thread stacks): a warm-up of one row takes them out.
        RunOnce(model, 1);
        var atSmall = Median(model, small);
        if (large <= small) return atSmall;
        var atLarge = Median(model, large);
        var perRow = Math.Max(0.0, (atLarge - atSmall) / (double)(large - small));
        return Math.Max(atLarge, (long)(atLarge + perRow * (batchRows - large)));
    }

    /// <summary>
    /// The median of <see cref="Tries"/> Runs: the figure is the whole process's resident memory, so another thread
    /// allocating during a Run (another job in a service, tests in parallel) adds to it and one freeing takes from it;
    /// measured 49 and 86 MiB, and 0, for the same stage in single Runs while other tests ran.
    /// </summary>
    private static long Median(OnnxModel model, int rows)
    {
        var runs = new long[Tries];
        for (var i = 0; i < Tries; i++) runs[i] = RunOnce(model, rows);
        Array.Sort(runs);
        return runs[Tries / 2];
    }

    private const int Tries = 3;

    private static long RunOnce(OnnxModel model, int rows)
    {
        var names = model.Inputs.Select(b => b.ModelInput).ToArray();
        var values = model.Inputs.Select(b => Zeros(b.Metadata, rows)).ToArray();
        try
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            ProcessMemory.TryTrim();
            var before = ProcessMemory.ResidentBytes();
            var peakReset = ProcessMemory.TryResetPeak();
            long after = 0;
            Exception? failed = null;
            // On a thread of its own (one intra-op thread runs on the caller's): the kernels' per-thread scratch (MLAS
            // packing buffers) is kept by a thread for its life, and would hide in the next Run's figure.
            var run = new Thread(() =>
            {
                try
                {
                    using var runOptions = new RunOptions();
                    using (model.Runner.Run(runOptions, names, values, model.RunOutputs)) after = ProcessMemory.ResidentBytes();
                }
                catch (Exception e)
                {
                    failed = e;
                }
            });
            run.Start();
            run.Join();
            if (failed is not null) throw new SluiceException($"model '{model.Path}': the probe Run of {rows} rows failed: {failed.Message}", failed);
            var peak = peakReset ? Math.Max(ProcessMemory.PeakResidentBytes(), after) : after;
            return Math.Max(0, peak - before);
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    private static OrtValue Zeros(NodeMetadata metadata, int rows)
    {
        var shape = metadata.Dimensions.Select((d, i) => d >= 0 ? d : i == 0 ? rows : DynamicLength).Select(d => (long)d).ToArray();
        var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, metadata.ElementDataType, shape);
        value.GetTensorMutableRawData().Clear();
        return value;
    }
}
