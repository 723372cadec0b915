using Sluice.Contracts;
using Sluice.Plan;

namespace Sluice.Core.Tests;

public class DatasetTests
{
    [Fact]
    public void Calls_AreLazyAndImmutable_EachReturnsANewPlan()
    {
        var calls = 0;
        var source = Dataset.Range(100);
        var mapped = source.MapBatches(b => { calls++; return b; }, new MapBatchesOptions { Name = "touch" });
        Assert.Equal(0, calls);
        Assert.IsType<ReadOperator>(source.Plan);
        Assert.Equal("Read[range(100)] -> MapBatches[touch]", mapped.ToString());
    }

    [Fact]
    public async Task Range_PlansStableReadTasksCoveringEveryRow()
    {
        var read = (ReadOperator)Dataset.Range(10, tasks: 3).Plan;
        var tasks = await read.Source.PlanAsync(CancellationToken.None);
        Assert.Equal(["range[0..4)", "range[4..8)", "range[8..10)"], tasks.Select(t => t.Id));
        var rows = 0;
        foreach (var t in tasks)
            await foreach (var b in t.ReadAsync(3, CancellationToken.None)) rows += b.Length;
        Assert.Equal(10, rows);
    }

    [Fact]
    public void MapBatchesOptions_Problems_AreValuesNamingMemberValueAndWhatIsAccepted()
    {
        var errors = new MapBatchesOptions { BatchSize = 0, Pool = new PoolSize(3, 2), MaxConcurrency = 0 }.Problems().ToList();
        Assert.Contains(new OptionError("BatchSize", "0", "give a positive row count (e.g. 64) or leave it out for whole blocks"), errors);
        Assert.Contains(errors, e => e is { Member: "Pool", Value: null } && e.Accepted.StartsWith("max 2 is below min 3", StringComparison.Ordinal));
        Assert.Contains(errors, e => e is { Member: "MaxConcurrency", Value: "0" });
    }
}
