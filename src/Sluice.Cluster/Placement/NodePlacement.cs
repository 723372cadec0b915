using Orleans.Placement;

namespace Sluice.Cluster.Placement;

/// <summary>Places a grain on the node its key names: the key up to the first '|' is a node id (a silo name).</summary>
[GenerateSerializer, Immutable]
internal sealed class NodePlacementStrategy : PlacementStrategy;

/// <summary>Marks a grain class as placed by <see cref="NodePlacementStrategy"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class NodePlacementAttribute() : PlacementAttribute(new NodePlacementStrategy());
