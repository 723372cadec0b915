using Sluice.Execution.Stats;

namespace Sluice.Cluster.Autoscaling;

/// <summary>What the planner sees at one moment: plain values the autoscaler gathers from the job and the cluster.</summary>
/// <param name="Unmet">Actors the job's pools want that fit no node now.</param>
/// <param name="DemandSince">Since when some demand has been unmet without a break; null when none is now.</param>
/// <param name="Groups">Each configured group, in the options' order.</param>
/// <param name="JobDone">The job is over: every worker above its group's min goes.</param>
internal sealed record AutoscaleState(IReadOnlyList<ActorDemand> Unmet, DateTimeOffset? DemandSince, IReadOnlyList<GroupState> Groups, bool JobDone = false);

/// <summary>One group's workers as the autoscaler knows them.</summary>
/// <param name="Workers">Joined workers that were not asked to leave.</param>
/// <param name="Pending">When each launch not yet joined was asked for.</param>
/// <param name="LastAdd">When workers were last asked for; null if never.</param>
internal sealed record GroupState(WorkerGroup Group, IReadOnlyList<WorkerState> Workers, IReadOnlyList<DateTimeOffset> Pending, DateTimeOffset? LastAdd);

/// <summary>A joined worker: its node id, the job's actors on it now, and since when it has held none (null while it holds some).</summary>
internal sealed record WorkerState(string NodeId, int Actors, DateTimeOffset? IdleSince);
