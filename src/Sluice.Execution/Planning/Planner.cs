using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution.Runtime;
using Sluice.Plan;

namespace Sluice.Execution.Planning;

/// <summary>
/// Maps the logical plan to physical operators. Stateless functions fuse into the operator before
/// them (the read, or another function) so cheap CPU work adds no queue hop; processors get actor pools.
/// </summary>
internal static class Planner
{
    public static PhysicalPlan Plan(LogicalOperator logical, Datasink? sink, NodeResources node)
    {
        var cores = Math.Max(1, (int)Math.Floor(node.Cpus));
        var ops = new List<PhysicalOperatorSpec>();
        foreach (var op in logical.Chain())
        {
            switch (op)
            {
                case ReadOperator read:
                    ops.Add(new SourceSpec(read.Source, read.Options, null, [], read.Options.Parallelism ?? cores));
                    break;
                case MapBatchesOperator { Transform: BatchTransform.Function f } map:
                    var work = FunctionWork(map.Name, f, map.Options.BatchSize, map.Options.OnError);
                    var last = ops.Count > 0 ? ops[^1] : null;
                    if (last is SourceSpec s && map.Options.Resources is null or { IsEmpty: true })
                        ops[^1] = new SourceSpec(s.Source, s.Options, Chain(s.Fused, work), [.. s.FusedNames, map.Name], s.Parallelism);
                    // A map asking for nothing runs in the pool before it; one asking for other resources (a GPU resize after a CPU decode) keeps its own.
                    else if (last is TaskMapSpec t && t.Concurrency == (map.Options.Concurrency ?? cores) && (map.Options.Resources is null or { IsEmpty: true } || t.Resources == map.Options.Resources))
                        ops[^1] = t with { Name = $"{t.Name}->{map.Name}", Work = Chain(t.Work, work)! };
                    else
                        ops.Add(new TaskMapSpec(map.Name, work, map.Options.Concurrency ?? cores, map.Options.Resources ?? ResourceRequest.None));
                    break;
                case MapBatchesOperator { Transform: BatchTransform.Processor p } map:
                    ops.Add(new ActorMapSpec(map.Name, p.Create, p.TypeName, map.Options, map.Options.Resources ?? ResourceRequest.OneCpu, p.Descriptor));
                    break;
                default:
                    throw new NotSupportedException($"logical operator {op.Describe()} has no physical mapping");
            }
        }
        if (sink is not null) ops.Add(new SinkSpec(sink, cores));
        if (ops.Count > 0 && ops[0] is SourceSpec source)
        {
            var estimate = EstimateOf(source.Source);
            ops[0] = source with { Estimate = estimate, Block = BlockSizing.Choose(source.Options, estimate, ops.OfType<ActorMapSpec>().ToList()) };
            // A GPU stage's device need depends on its batch, known once the blocks are sized.
            var rows = ((SourceSpec)ops[0]).Block.Rows;
            for (var i = 1; i < ops.Count; i++)
                if (ops[i] is ActorMapSpec actor) ops[i] = DeviceMemoryNeeds.Measure(actor, actor.Options.BatchSize ?? rows);
        }
        return new PhysicalPlan(ops);
    }

    /// <summary>
    /// The source's estimate, or none when it cannot look (a missing input): planning the reads then
    /// fails with the located error, after the stages were checked, as it did before sources estimated.
    /// </summary>
    private static SourceEstimate? EstimateOf(Datasource source)
    {
        try
        {
            return source.Estimate();
        }
        catch (Exception e) when (e is SluiceException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static BlockWork FunctionWork(string name, BatchTransform.Function f, int? batchSize, OnError onError) =>
        (block, ct) => BatchRunner.ApplyAsync(name, (batch, _) => ValueTask.FromResult(f.Apply(batch)), block, batchSize, onError, ct);

    private static BlockWork? Chain(BlockWork? first, BlockWork second)
    {
        if (first is null) return second;
        return async (Block block, CancellationToken ct) => await second(await first(block, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
    }
}
