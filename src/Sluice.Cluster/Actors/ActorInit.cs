using Sluice.Cluster.Files;
using Sluice.Contracts;
using Sluice.Execution.Runtime;

namespace Sluice.Cluster.Actors;

/// <summary>
/// What an actor grain needs to build and initialize its processor on its node. <see cref="Files"/> are the job files its
/// options name, which node <see cref="FileSource"/> (the driver) sends; none when the actor runs on the driver's own node.
/// <see cref="Driver"/> is the node of the job's driver: where a draining worker hands the job's blocks, and whose death
/// releases the actor.
/// </summary>
[GenerateSerializer, Immutable]
internal sealed record ActorInit(
    [property: Id(0)] string Operator, [property: Id(1)] int ActorIndex,
    [property: Id(2)] string ProcessorType, [property: Id(3)] string? OptionsType, [property: Id(4)] string? OptionsJson,
    [property: Id(5)] double Cpus, [property: Id(6)] double Gpus, [property: Id(7)] long MemoryBytes,
    [property: Id(8)] int[] GpuIds, [property: Id(9)] int? BatchSize, [property: Id(10)] string Job,
    [property: Id(11)] JobFileEntry[]? Files = null, [property: Id(12)] string? FileSource = null, [property: Id(13)] string? Driver = null,
    [property: Id(14)] OnError OnError = OnError.Fail)
{
    /// <param name="job">The driver's run id: the actor reads only this job's blocks, and its outputs belong to it.</param>
    public static ActorInit Of(ActorSpec spec, ProcessorDescriptor descriptor, string job)
    {
        var c = spec.Context;
        return new(spec.Operator, spec.Index, descriptor.TypeName, descriptor.OptionsTypeName, descriptor.OptionsJson,
            c.Resources.Cpus, c.Resources.Gpus, c.Resources.MemoryBytes, [.. c.GpuIds], spec.BatchSize, job, OnError: spec.OnError);
    }

    public ProcessorDescriptor Descriptor => new(ProcessorType, OptionsType, OptionsJson);

    /// <summary>The processor's context on the node that runs it: that node's simulated devices, not the driver's.</summary>
    public ProcessorContext Context(SimulatedDevices? simulated) =>
        new(Operator, ActorIndex, new ResourceRequest(Cpus, Gpus, MemoryBytes), GpuIds, simulated);
}
