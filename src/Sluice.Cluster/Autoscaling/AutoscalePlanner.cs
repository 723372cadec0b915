using System.Globalization;
using Sluice.Contracts;

namespace Sluice.Cluster.Autoscaling;

/// <summary>
/// Decides how the cluster's worker groups should change, from values only (like the executor's pool balancer): it
/// changes nothing and sleeps on nothing; the autoscaler applies what it returns. Tests drive it with explicit times.
/// </summary>
/// <remarks>
/// The rules, in order: launches that never joined within <see cref="AutoscaleOptions.LaunchTimeout"/> are given up;
/// when the job is over every worker above its group's min goes; a group below its min gets workers; unmet actors are
/// packed first into the room of workers asked for but not yet used (pending launches, and joined workers that hold
/// no actor yet: the executor adds a joined node on its next tick, so its room is not demand to add for again), then
/// into new workers of the first group whose one worker fits the actor, up to the group's max; demand must have
/// lasted <see cref="AutoscaleOptions.UpDelay"/>. A worker that held no actor for <see cref="AutoscaleOptions.IdleTimeout"/>
/// is removed, down to min, but never while unmet demand could use its group's workers and never within the idle
/// timeout of the group's last add (hysteresis: a demand that blinks neither adds nor removes on each blink).
/// </remarks>
internal static class AutoscalePlanner
{
    private const double Epsilon = 1e-9;

    public static IReadOnlyList<AutoscaleDecision> Decide(AutoscaleState state, AutoscaleOptions options, DateTimeOffset now)
    {
        var decisions = new List<AutoscaleDecision>();
        var pending = new List<List<DateTimeOffset>>();
        foreach (var g in state.Groups)
        {
            var expired = g.Pending.Where(t => now - t >= options.LaunchTimeout).ToList();
            pending.Add([.. g.Pending.Where(t => now - t < options.LaunchTimeout)]);
            if (expired.Count > 0)
                decisions.Add(new(AutoscaleAction.GiveUp, g.Group.Name, expired.Count, $"asked for {Seconds(now - expired.Min())} ago and not joined within launch_timeout {Seconds(options.LaunchTimeout)}"));
        }
        if (state.JobDone)
        {
            foreach (var g in state.Groups)
            {
                var excess = g.Workers.Count - g.Group.Min;
                if (excess <= 0) continue;
                var gone = g.Workers.OrderBy(w => w.Actors).ThenBy(w => w.IdleSince ?? now).Take(excess).Select(w => w.NodeId).ToList();
                decisions.Add(new(AutoscaleAction.Remove, g.Group.Name, gone.Count, $"job over: down to min {g.Group.Min}") { Nodes = gone });
            }
            return decisions;
        }

        var adds = new int[state.Groups.Count];
        var reasons = state.Groups.Select(_ => new List<string>()).ToArray();
        for (var i = 0; i < state.Groups.Count; i++)
        {
            var g = state.Groups[i];
            var have = g.Workers.Count + pending[i].Count;
            if (have >= g.Group.Min) continue;
            adds[i] = g.Group.Min - have;
            reasons[i].Add($"min {g.Group.Min}, {have} joined or asked for");
        }
        var minAdds = adds.ToArray();

        // Room not yet used: each pending launch (and each min launch just decided) and each joined worker holding no actor.
        var bins = new List<Bin>();
        for (var i = 0; i < state.Groups.Count; i++)
        {
            var g = state.Groups[i];
            for (var n = 0; n < pending[i].Count + adds[i] + g.Workers.Count(w => w.Actors == 0); n++) bins.Add(new Bin(g.Group));
        }
        var persisted = state.DemandSince is { } since && now - since >= options.UpDelay;
        foreach (var demand in state.Unmet)
        {
            var forGroup = new int[state.Groups.Count];
            for (var a = 0; a < demand.Actors; a++)
            {
                if (bins.FirstOrDefault(b => b.TryTake(demand.PerActor)) is not null) continue;
                var target = -1;
                for (var i = 0; i < state.Groups.Count && target < 0; i++)
                {
                    var g = state.Groups[i];
                    if (Fits(g.Group, demand.PerActor) && g.Workers.Count + pending[i].Count + adds[i] < g.Group.Max) target = i;
                }
                // Every group that fits is at its max, or none fits (refused before the job starts): the actor waits.
                if (target < 0) continue;
                var bin = new Bin(state.Groups[target].Group);
                bin.TryTake(demand.PerActor);
                bins.Add(bin);
                adds[target]++;
                forGroup[target]++;
            }
            for (var i = 0; i < forGroup.Length; i++)
            {
                if (forGroup[i] > 0)
                    reasons[i].Add($"stage '{demand.Stage}' wants {demand.Actors} more actor(s) x {demand.PerActor} that fit no node: +{forGroup[i]} {state.Groups[i].Group.Name}");
            }
        }
        for (var i = 0; i < state.Groups.Count; i++)
        {
            // Demand that has not lasted up_delay adds nothing yet (one blip of backlog starts no worker); a min always does.
            var n = persisted ? adds[i] : minAdds[i];
            if (n > 0) decisions.Add(new(AutoscaleAction.Add, state.Groups[i].Group.Name, n, string.Join("; ", persisted ? reasons[i] : reasons[i].Take(1))));
        }

        for (var i = 0; i < state.Groups.Count; i++)
        {
            var g = state.Groups[i];
            if (g.LastAdd is { } last && now - last < options.IdleTimeout) continue;
            if (state.Unmet.Any(d => Fits(g.Group, d.PerActor))) continue;
            var idle = g.Workers.Where(w => w.Actors == 0 && w.IdleSince is { } t && now - t >= options.IdleTimeout)
                .OrderBy(w => w.IdleSince).Take(g.Workers.Count - g.Group.Min).Select(w => w.NodeId).ToList();
            if (idle.Count == 0) continue;
            decisions.Add(new(AutoscaleAction.Remove, g.Group.Name, idle.Count,
                $"no actor for idle_timeout {Seconds(options.IdleTimeout)}: {g.Workers.Count} -> {g.Workers.Count - idle.Count} (min {g.Group.Min})") { Nodes = idle });
        }
        return decisions;
    }

    /// <summary>Whether one worker of <paramref name="group"/>, empty, can hold one actor asking for <paramref name="perActor"/>.</summary>
    public static bool Fits(WorkerGroup group, ResourceRequest perActor) => new Bin(group).TryTake(perActor);

    private static string Seconds(TimeSpan t) => string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.#}s");

    /// <summary>The room left on one worker of a group while actors are packed onto it (GPUs as a sum: fractions share a device).</summary>
    private sealed class Bin(WorkerGroup group)
    {
        private double _cpus = group.Cpus;
        private double _gpus = group.Gpus;
        private long _memory = group.Memory == 0 ? long.MaxValue : group.Memory;

        public bool TryTake(ResourceRequest r)
        {
            if (r.Cpus > _cpus + Epsilon || r.Gpus > _gpus + Epsilon || r.MemoryBytes > _memory) return false;
            _cpus -= r.Cpus;
            _gpus -= r.Gpus;
            _memory -= r.MemoryBytes;
            return true;
        }
    }
}
