namespace Sluice.Cluster.Placement;

/// <summary>A grain was asked for on a node that is no longer (or not yet) an active member.</summary>
internal sealed class NodeGoneException : SluiceException
{
    public NodeGoneException() { }

    public NodeGoneException(string message) : base(message) { }

    public NodeGoneException(string message, Exception inner) : base(message, inner) { }
}
