using Microsoft.ML.OnnxRuntime;

namespace Sluice.Inference;

/// <summary>
/// Measures what one Run of a model needs beyond its weights (activations, kernel scratch, outputs): the model runs on
/// the CPU over synthetic all-zero inputs and the process's peak resident memory during the Run is read against the
/// resident memory just before it (Linux <c>/proc/self/status</c> VmHWM, reset through <c>/proc/self/clear_refs</c>;
/// where the peak cannot be reset, the resident growth after the Run). The session runs without ONNX Runtime's CPU
/// arena, so the peak is what the Run holds at once, not what an arena kept. This is a measurement on the CPU: the
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
        var atSmall = RunOnce(model, small);
        if (large <= small) return atSmall;
        var atLarge = RunOnce(model, large);
        var perRow = Math.Max(0.0, (atLarge - atSmall) / (double)(large - small));
        return Math.Max(atLarge, (long)(atLarge + perRow * (batchRows - large)));
    }

    private static long RunOnce(OnnxModel model, int rows)
    {
        var names = model.Inputs.Select(b => b.ModelInput).ToArray();
        var values = model.Inputs.Select(b => Zeros(b.Metadata, rows)).ToArray();
        try
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var before = ProcessMemory.ResidentBytes();
            var peakReset = ProcessMemory.TryResetPeak();
            using var runOptions = new RunOptions();
            long after;
            using (model.Runner.Run(runOptions, names, values, model.RunOutputs)) after = ProcessMemory.ResidentBytes();
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
