using Sluice.Contracts;

namespace Sluice.Execution.Planning;

/// <summary>
/// What each GPU of a stage's actor holds: its weights plus the activations of one batch of the stage's batch size,
/// asked of the processor (<see cref="IDeviceMemoryNeed"/>) once, when the job is planned, and written into the
/// actor's <see cref="ResourceRequest.DeviceMemoryBytes"/>, which placement sums per device. A need the user states
/// (<c>resources.device_memory</c>) wins and skips the probe.
/// </summary>
internal static class DeviceMemoryNeeds
{
    /// <summary>The stage's resources with its device need filled in; unchanged for a CPU stage, a stated need, or a processor that says none.</summary>
    public static ActorMapSpec Measure(ActorMapSpec spec, int batchRows)
    {
        if (spec.Resources.Gpus <= 0 || spec.Resources.DeviceMemoryBytes > 0) return spec;
        var probe = spec.Create();
        try
        {
            if (probe is not IDeviceMemoryNeed need) return spec;
            var bytes = need.DeviceBytesPerGpu(spec.Resources) + need.ActivationBytesPerGpu(spec.Resources, Math.Max(1, batchRows));
            return bytes > 0 ? spec with { Resources = spec.Resources with { DeviceMemoryBytes = bytes } } : spec;
        }
        finally
        {
            // Planning is synchronous; a probe's dispose completes at once (nothing was initialized).
            var disposing = probe.DisposeAsync();
            if (!disposing.IsCompleted) disposing.AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// Why a stage cannot run on devices of at most <paramref name="largestDevice"/> bytes: one actor's need
    /// (<see cref="ResourceRequest.DeviceMemoryBytes"/>, or its weights where nothing was measured) is more than that;
    /// null when it fits. <paramref name="need"/> is a probe of the stage's processor, when it says its need.
    /// </summary>
    public static string? Refusal(ActorMapSpec spec, IDeviceMemoryNeed? need, long largestDevice, bool simulated)
    {
        if (spec.Resources.Gpus <= 0) return null;
        var weights = need?.DeviceBytesPerGpu(spec.Resources) ?? 0;
        var total = Math.Max(weights, spec.Resources.DeviceMemoryBytes);
        if (total <= largestDevice) return null;
        var activations = total - weights;
        var batch = spec.Options.BatchSize is { } b ? $"batch_size {b}" : "a block as one batch";
        var parts = need is null
            ? "resources.device_memory"
            : activations > 0 ? $"model weights {Mib(weights)} + {need.BeyondWeights ?? $"activations of {batch}"} {Mib(activations)}" : "model weights";
        var fixes = new List<string>();
        if (activations > 0)
            fixes.Add(need?.HowToNeedLessBeyondWeights ?? (spec.Options.BatchSize is { } size && size > 1 ? $"lower batch_size (now {size})" : "set a smaller batch_size"));
        if (need is not null) fixes.Add(need.HowToFit(largestDevice));
        else fixes.Add("lower resources.device_memory or use larger devices");
        return $"stage '{spec.Name}': each GPU must hold {Mib(total)} ({parts}) but the largest GPU has {Mib(largestDevice)}" +
            $"{(simulated ? " (execution.sim_gpu_memory / --sim-gpu-memory)" : "")}; {string.Join("; or ", fixes)}";
    }

    private static string Mib(long bytes) => $"{bytes / (1024.0 * 1024):0.#} MiB";
}
