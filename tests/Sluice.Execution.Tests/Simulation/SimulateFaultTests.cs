using Sluice.Contracts;
using Sluice.Execution.Simulation;
using Sluice.Plan;

namespace Sluice.Execution.Tests.Simulation;

/// <summary>
/// The faults <c>simulate</c> can be told to show (issue 12): slow batches (a share of them held longer by a factor)
/// and bad rows (<c>fail_on</c>): for tests and benchmarks of stragglers and dead letters.
/// </summary>
public sealed class SimulateFaultTests
{
    private static ExecutionOptions Node => new() { Resources = new NodeResources(2, 0, 1L << 30).WithSimulatedGpus(2) };

    private static Dataset Job(SimulateOptions options, int rows = 40) =>
        Dataset.Range(rows, new ReadOptions { BlockRows = 10 }, tasks: 1)
            .MapBatches(b => Sluice.ArrowBatches.WithColumn(b, new Apache.Arrow.Field("text", Apache.Arrow.Types.StringType.Default, false),
                new Apache.Arrow.StringArray.Builder().AppendRange(((Apache.Arrow.Int64Array)b.Column("id")).Values.ToArray().Select(i => $"row {i}")).Build()),
                new MapBatchesOptions { Name = "text" })
            .MapBatches(() => new SimulateProcessor(options), "simulate",
                new MapBatchesOptions { Name = "sim", BatchSize = 5, Pool = new PoolSize(1, 2), Resources = new ResourceRequest(Gpus: 1) });

    [Fact]
    public async Task FailOn_ARowMatches_TheJobFailsNamingTheStageTheRowsAndThePattern()
    {
        var e = await Assert.ThrowsAsync<BadInputException>(() => Job(new SimulateOptions(PerRowMs: 0.1, FailOn: "^row 17$")).WriteAsync(new MemorySink(), Node));

        Assert.Contains("stage 'sim'", e.Message, StringComparison.Ordinal);
        Assert.Contains("rows 16–20", e.Message, StringComparison.Ordinal); // the batch of 5 that holds id 17
        Assert.Contains("fail_on '^row 17$'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SlowFractionOne_EveryBatchHoldsItsDeviceFactorTimesLonger()
    {
        var stats = await Job(new SimulateOptions(PerRowMs: 1, SlowFraction: 1, SlowFactor: 3)).WriteAsync(new MemorySink(), Node);

        // 40 rows x 1 ms x 3: what the devices were asked for.
        Assert.Equal(120, stats.DeviceAsked.Sum(t => t.TotalMilliseconds), 1);
    }

    [Theory]
    [InlineData(1.5, 1, null, "SlowFraction")]
    [InlineData(0.1, 0.5, null, "SlowFactor")]
    [InlineData(0, 1, "(unclosed", "FailOn")]
    public void Problems_NameTheFieldAndWhatIsAccepted(double fraction, double factor, string? failOn, string field)
    {
        var problems = new SimulateOptions(SlowFraction: fraction, SlowFactor: factor, FailOn: failOn).Problems().ToList();

        Assert.Single(problems);
        Assert.Equal(field, problems[0].Member);
    }
}
