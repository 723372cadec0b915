namespace Sluice.Cluster.Placement;

/// <summary>
/// An actor grain refused a new task (or a new actor) because its node is draining: the node is leaving the
/// cluster gracefully. The driver's handle turns it into <see cref="Sluice.Contracts.ActorLostException"/>, so the
/// executor drops the actor, suspects the node and runs the task elsewhere.
/// </summary>
[GenerateSerializer]
internal sealed class NodeDrainingException : Exception
{
    public NodeDrainingException() { }

    public NodeDrainingException(string message) : base(message) { }

    public NodeDrainingException(string message, Exception inner) : base(message, inner) { }
}
