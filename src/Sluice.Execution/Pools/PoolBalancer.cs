using System.Globalization;

namespace Sluice.Execution.Pools;

/// <summary>
/// Shares each contended resource (gpus, or cpus) among the actor pools that use it in proportion
/// to what each stage costs per row, measured: a stage four times slower per row gets four times the
/// devices, so every stage of the pipeline moves rows at the same rate. Queue length alone cannot do
/// this: the first stage always sees the longest queue (the reader feeds it), grabs the devices and
/// starves the slow stage behind it — Ray Data's "83 upstream actors vs 4 downstream". Until every
/// pool of a resource has finished a task (its cost is unknown), pools scale by backlog alone.
/// </summary>
/// <remarks>
/// A pure function of what the pools look like: it changes nothing, it returns one <see cref="PoolTarget"/>
/// per pool (same order), and each pool's operator applies its own.
/// </remarks>
internal static class PoolBalancer
{
    public static IReadOnlyList<PoolTarget> Decide(IReadOnlyList<PoolView> pools, double totalGpus, double totalCpus)
    {
        var decisions = pools.Select(p => new PoolTarget(p.Max, false, null)).ToArray();
        foreach (var group in pools.Select((p, i) => (View: p, Index: i)).Where(x => x.View.Active && x.View.Kind is not null).GroupBy(x => x.View.Kind!))
        {
            var members = group.ToList();
            if (members.Count < 2) continue;
            var views = members.Select(m => m.View).ToList();
            var total = group.Key == "gpus" ? totalGpus : totalCpus;
            if (views.Any(v => v.CostPerRow is null))
            {
                // Costs not known yet: an even split, so the first stage cannot take every device
                // before the others have run a task (it would only have to give them back).
                foreach (var m in members)
                {
                    var even = Math.Clamp((int)Math.Floor(total / members.Count / m.View.Amount), Math.Max(1, m.View.Min), m.View.Max);
                    decisions[m.Index] = new PoolTarget(even, false, $"even split of {total:0.#} {group.Key} until every stage's cost is measured");
                }
                continue;
            }
            var (targets, reasons) = Shares(views, total, group.Key);
            // A pool below its target with work waiting and no free resources: the others give back their surplus.
            var starved = views.Where((v, j) => v.HasBacklog && v.Live < Math.Min(targets[j], v.Max) && !v.OneMoreFits).Any();
            for (var j = 0; j < members.Count; j++)
                decisions[members[j].Index] = new PoolTarget(targets[j], starved && views[j].Live > Math.Max(targets[j], views[j].Min), reasons[j]);
        }
        return decisions;
    }

    private static (int[] Targets, string[] Reasons) Shares(List<PoolView> members, double total, string kind)
    {
        var costs = members.Select(m => m.CostPerRow!.Value).ToList();
        var per = members.Select(m => m.Amount).ToList();
        var weights = members.Select((_, i) => costs[i] * per[i]).ToList();
        var sum = weights.Sum();
        var shares = weights.Select(w => sum > 0 ? total * w / sum : total / members.Count).ToList();
        var targets = members.Select((m, i) => Math.Clamp((int)Math.Floor(shares[i] / per[i] + 1e-9), Math.Max(1, m.Min), m.Max)).ToArray();
        // Hand what rounding left over to the stage furthest below its share.
        void GiveLeftover()
        {
            while (true)
            {
                var used = targets.Select((t, i) => t * per[i]).Sum();
                var best = -1;
                for (var i = 0; i < members.Count; i++)
                {
                    if (targets[i] >= members[i].Max || used + per[i] > total + 1e-9) continue;
                    if (best < 0 || shares[i] / per[i] - targets[i] > shares[best] / per[best] - targets[best]) best = i;
                }
                if (best < 0) return;
                targets[best]++;
            }
        }

        GiveLeftover();
        // Hysteresis (the anti-flapping rule): a pool whose size already rounds its share (floor or ceiling)
        // keeps it, so a share near x.5 does not flip the target on every turn and churn actors (each a model load).
        for (var i = 0; i < members.Count; i++)
        {
            var live = members[i].Live;
            var exact = shares[i] / per[i];
            if (live != targets[i] && live >= Math.Floor(exact) && live <= Math.Ceiling(exact) && live >= Math.Max(1, members[i].Min) && live <= members[i].Max)
                targets[i] = live;
        }
        var over = targets.Select((t, i) => t * per[i]).Sum() - total;
        for (var i = 0; over > 1e-9 && i < members.Count; i++)
        {
            // Kept sizes may add up past the total: trim those above their share first.
            while (over > 1e-9 && targets[i] > Math.Max(1, members[i].Min) && targets[i] > shares[i] / per[i])
            {
                targets[i]--;
                over -= per[i];
            }
        }
        GiveLeftover();
        var reasons = members.Select((m, i) =>
        {
            var others = string.Join(", ", members.Where((_, j) => j != i).Select((o, _) => $"'{o.Name}' {Ms(costs[members.IndexOf(o)])}"));
            return $"{Ms(costs[i])}/row vs {others}: {shares[i]:0.#} of {total:0.#} {kind}";
        }).ToArray();
        return (targets, reasons);
    }

    private static string Ms(double seconds) => string.Create(CultureInfo.InvariantCulture, $"{seconds * 1000:0.###} ms");
}
