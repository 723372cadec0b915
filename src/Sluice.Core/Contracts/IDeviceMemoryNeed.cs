namespace Sluice.Contracts;

/// <summary>
/// A processor whose actors keep data on their GPUs (a model's weights): how much each device must hold. The
/// executor refuses, before any actor starts, a stage that needs more than the largest GPU of any node has
/// (<c>NodeResources.GpuMemoryBytes</c>, real or simulated), saying how to make it fit.
/// </summary>
public interface IDeviceMemoryNeed
{
    /// <summary>Bytes each GPU of an actor holding <paramref name="resources"/> must keep; 0 when nothing stays on a device.</summary>
    long DeviceBytesPerGpu(ResourceRequest resources);

    /// <summary>What would make the stage fit a device of <paramref name="deviceBytes"/>, e.g. partitioning the model.</summary>
    string HowToFit(long deviceBytes);
}
