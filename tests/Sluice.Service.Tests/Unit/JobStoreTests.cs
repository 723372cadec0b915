using Sluice.Service.Api;
using Sluice.Service.History;

namespace Sluice.Service.Tests;

public sealed class JobStoreTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static JobRow Row(string id, JobState state) =>
        new(id, "job", "name: job", state, null, DateTimeOffset.UnixEpoch.AddSeconds(id.Length), null, null, null, null, null, 100, 1);

    [Fact]
    public void InterruptRunning_JobsADeadServiceLeftRunningOrQueued_AreInterruptedAndTheRestKept()
    {
        using (var store = new JobStore(_dir.Path))
        {
            store.Save(Row("a", JobState.Running));
            store.Save(Row("bb", JobState.Queued));
            store.Save(Row("ccc", JobState.Succeeded) with { StatsJson = """{"operators":[]}""", Log = "line 1\nline 2" });
        }

        using var reopened = new JobStore(_dir.Path);
        Assert.Equal(2, reopened.InterruptRunning(DateTimeOffset.UnixEpoch.AddDays(1)));
        var rows = reopened.All().ToDictionary(r => r.Id);
        Assert.Equal(JobState.Interrupted, rows["a"].State);
        Assert.Contains("while the job was running", rows["a"].Error);
        Assert.Equal(DateTimeOffset.UnixEpoch.AddDays(1), rows["a"].Ended);
        Assert.Equal(JobState.Interrupted, rows["bb"].State);
        Assert.Equal(JobState.Succeeded, rows["ccc"].State);
        Assert.Equal("""{"operators":[]}""", rows["ccc"].StatsJson);
        Assert.Equal("line 1\nline 2", rows["ccc"].Log);
        Assert.Equal(100, rows["ccc"].RowsTotal);
    }

    [Fact]
    public void Progress_KnownTotal_GivesPercentAndEta()
    {
        var running = JobProgress.Of(250, 1000, TimeSpan.FromSeconds(10), JobState.Running);
        Assert.Equal(25, running.Percent);
        Assert.Equal(30, running.EtaSeconds);
        var unknown = JobProgress.Of(250, null, TimeSpan.FromSeconds(10), JobState.Running);
        Assert.Null(unknown.Percent);
        Assert.Null(unknown.EtaSeconds);
        // An estimated total that the job passes: never 100% before it ends, 100% once it has.
        Assert.Equal(99.9, JobProgress.Of(1200, 1000, TimeSpan.FromSeconds(10), JobState.Running).Percent);
        Assert.Equal(100, JobProgress.Of(1200, 1000, TimeSpan.FromSeconds(10), JobState.Succeeded).Percent);
    }
}
