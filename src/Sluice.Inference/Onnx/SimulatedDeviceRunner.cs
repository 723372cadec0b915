using Microsoft.ML.OnnxRuntime;
using Sluice.Contracts;

namespace Sluice.Inference;

/// <summary>
/// A runner on the CPU standing in for one on simulated GPUs: each Run holds <paramref name="devices"/> alone
/// (<see cref="SimulatedDevices.HoldAsync{T}"/>), so device time, exclusivity and utilization are the real model's.
/// Run is synchronous (a generation loop's own thread calls it), so it waits for the devices on that thread.
/// </summary>
internal sealed class SimulatedDeviceRunner(IModelRunner inner, SimulatedDevices simulated, IReadOnlyList<int> devices) : IModelRunner
{
    public IReadOnlyDictionary<string, NodeMetadata> InputMetadata => inner.InputMetadata;

    public IReadOnlyDictionary<string, NodeMetadata> OutputMetadata => inner.OutputMetadata;

    public IDisposableReadOnlyCollection<OrtValue> Run(RunOptions runOptions, IReadOnlyCollection<string> inputNames, IReadOnlyCollection<OrtValue> inputValues, IReadOnlyCollection<string> outputNames)
    {
        var held = simulated.HoldAsync(devices, () => inner.Run(runOptions, inputNames, inputValues, outputNames), CancellationToken.None);
        return held.IsCompleted ? held.Result : held.AsTask().GetAwaiter().GetResult();
    }

    public void Dispose() => inner.Dispose();
}
