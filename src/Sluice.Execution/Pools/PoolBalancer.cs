using System.Globalization;
using Sluice.Execution.Operators;

namespace Sluice.Execution.Pools;

/// <summary>
/// Shares each contended resource (gpus, or cpus) among the actor pools that use it in proportion
/// to what each stage costs per row, measured: a stage four times slower per row gets four times the
/// devices, so every stage of the pipeline moves rows at the same rate. Queue length alone cannot do
/// this: the first stage always sees the longest queue (the reader feeds it), grabs the devices and
/// starves the slow stage behind it — Ray Data's "83 upstream actors vs 4 downstream". Until every
/// pool of a resource has finished a task (its cost is unknown), pools scale by backlog alone.
/// </summary>
internal static class PoolBalancer
{
    public static void Rebalance(ExecutorContext ctx, IReadOnlyList<ActorPoolOperator> pools)
    {
        foreach (var p in pools)
        {
            p.ShouldYield = false;
            p.Target = p.Options.Pool.Max;
            p.TargetReason = null;
        }
        foreach (var group in pools.Where(p => !p.InputExhausted).GroupBy(ResourceKind))
        {
            if (group.Key is null) continue;
            var members = group.ToList();
            if (members.Count < 2) continue;
            var costs = members.Select(p => p.CostPerRow(ctx)).ToList();
            var total = group.Key == "gpus" ? ctx.Resources.TotalGpus : ctx.Resources.TotalCpus;
            if (costs.Any(c => c is null))
            {
                // Costs not known yet: an even split, so the first stage cannot take every device
                // before the others have run a task (it would only have to give them back).
                foreach (var p in members)
                {
                    p.Target = Math.Clamp((int)Math.Floor(total / members.Count / Amount(p, group.Key)), Math.Max(1, p.Options.Pool.Min), p.Options.Pool.Max);
                    p.TargetReason = $"even split of {total:0.#} {group.Key} until every stage's cost is measured";
                }
                continue;
            }
            SetTargets(members, costs.Select(c => c!.Value).ToList(), total, group.Key);
            if (members.Any(p => p.WantsResources(ctx)))
                foreach (var p in members) p.ShouldYield = p.Pool.Live > Math.Max(p.Target, p.Options.Pool.Min);
        }
    }

    private static void SetTargets(List<ActorPoolOperator> members, List<double> costs, double total, string kind)
    {
        var per = members.Select(p => Amount(p, kind)).ToList();
        var weights = members.Select((p, i) => costs[i] * per[i]).ToList();
        var sum = weights.Sum();
        var shares = weights.Select(w => sum > 0 ? total * w / sum : total / members.Count).ToList();
        var targets = members.Select((p, i) => Math.Clamp((int)Math.Floor(shares[i] / per[i] + 1e-9), Math.Max(1, p.Options.Pool.Min), p.Options.Pool.Max)).ToList();
        // Hand what rounding left over to the stage furthest below its share.
        void GiveLeftover()
        {
            while (true)
            {
                var used = targets.Select((t, i) => t * per[i]).Sum();
                var best = -1;
                for (var i = 0; i < members.Count; i++)
                {
                    if (targets[i] >= members[i].Options.Pool.Max || used + per[i] > total + 1e-9) continue;
                    if (best < 0 || shares[i] / per[i] - targets[i] > shares[best] / per[best] - targets[best]) best = i;
                }
                if (best < 0) return;
                targets[best]++;
            }
        }

        GiveLeftover();
        // Hysteresis: a pool whose size already rounds its share (floor or ceiling) keeps it, so a
        // share near x.5 does not flip the target on every turn and churn actors (each a model load).
        for (var i = 0; i < members.Count; i++)
        {
            var live = members[i].Pool.Live;
            var exact = shares[i] / per[i];
            if (live != targets[i] && live >= Math.Floor(exact) && live <= Math.Ceiling(exact) && live >= Math.Max(1, members[i].Options.Pool.Min) && live <= members[i].Options.Pool.Max)
                targets[i] = live;
        }
        var over = targets.Select((t, i) => t * per[i]).Sum() - total;
        for (var i = 0; over > 1e-9 && i < members.Count; i++)
        {
            // Kept sizes may add up past the total: trim those above their share first.
            while (over > 1e-9 && targets[i] > Math.Max(1, members[i].Options.Pool.Min) && targets[i] > shares[i] / per[i])
            {
                targets[i]--;
                over -= per[i];
            }
        }
        GiveLeftover();
        for (var i = 0; i < members.Count; i++)
        {
            members[i].Target = targets[i];
            var others = string.Join(", ", members.Where((_, j) => j != i).Select((m, j) => $"'{m.Name}' {Ms(costs[members.IndexOf(m)])}"));
            members[i].TargetReason = $"{Ms(costs[i])}/row vs {others}: {shares[i]:0.#} of {total:0.#} {kind}";
        }
    }

    private static string? ResourceKind(ActorPoolOperator p) =>
        p.Pool.Resources.Gpus > 0 ? "gpus" : p.Pool.Resources.Cpus > 0 ? "cpus" : null;

    private static double Amount(ActorPoolOperator p, string kind) => kind == "gpus" ? p.Pool.Resources.Gpus : p.Pool.Resources.Cpus;

    private static string Ms(double seconds) => string.Create(CultureInfo.InvariantCulture, $"{seconds * 1000:0.###} ms");
}
