namespace Sluice.Contracts;

/// <summary>
/// A processor whose actors keep data on their GPUs: how much each device must hold. The need of one actor is its
/// weights (<see cref="DeviceBytesPerGpu"/>) plus the activations of one batch of the stage's batch size
/// (<see cref="ActivationBytesPerGpu"/>, measured by a probe run when the job is planned); the planner writes it into
/// the stage's <see cref="ResourceRequest.DeviceMemoryBytes"/>. The executor refuses, before any actor starts, a stage
/// that needs more than the largest GPU of any node has (<c>NodeResources.GpuMemoryBytes</c>, real or simulated),
/// saying how to make it fit, and places actors that share a device only while their summed needs fit it.
/// </summary>
public interface IDeviceMemoryNeed
{
    /// <summary>Bytes each GPU of an actor holding <paramref name="resources"/> must keep (its weights); 0 when nothing stays on a device.</summary>
    long DeviceBytesPerGpu(ResourceRequest resources);

    /// <summary>
    /// Bytes each GPU of an actor holding <paramref name="resources"/> needs beyond its weights while it runs one batch of
    /// <paramref name="batchRows"/> rows (activations, scratch and outputs). Called once per stage when the job is planned;
    /// it may run the model on the CPU to measure. 0 (the default): nothing beyond the weights.
    /// </summary>
    long ActivationBytesPerGpu(ResourceRequest resources, int batchRows) => 0;

    /// <summary>What would make the stage fit a device of <paramref name="deviceBytes"/>, e.g. partitioning the model.</summary>
    string HowToFit(long deviceBytes);

    /// <summary>
    /// What the bytes beyond the weights hold, as a refusal names them (a decoder's "KV cache of max_batch 16 x 512
    /// tokens"); null (the default): the activations of one batch of the stage's batch_size.
    /// </summary>
    string? BeyondWeights => null;

    /// <summary>How to need fewer bytes beyond the weights ("lower max_batch (now 16)"); null (the default): a smaller batch_size.</summary>
    string? HowToNeedLessBeyondWeights => null;
}
