using System.Diagnostics;
using Sluice.Execution;
using Sluice.Execution.Stats;

namespace Sluice.Cluster.Tests.Support;

/// <summary>
/// Brings a running job to the moment the fault tests act in: some blocks committed, then the sink held
/// until several blocks wait for it in the stores of the nodes that made them.
/// </summary>
internal static class SinkBacklog
{
    public static int Queued(ExecutionSnapshot s) => s.Operators.LastOrDefault(o => o.Kind == "write")?.QueuedBlocks ?? 0;

    public static long Written(ExecutionSnapshot s) => s.Operators.LastOrDefault(o => o.Kind == "write")?.TasksDone ?? 0;

    /// <summary>Waits for <paramref name="written"/> committed blocks, closes the sink and waits for <paramref name="queued"/> blocks to queue; bounded, failing with <paramref name="context"/>.</summary>
    /// <returns>The snapshot at that moment and the time since the wait began. The sink is left closed.</returns>
    public static async Task<(ExecutionSnapshot Snapshot, Stopwatch Clock)> BuildAsync(JobExecution job, GatedSink sink, Func<string> context, int written = 10, int queued = 4)
    {
        var clock = Stopwatch.StartNew();
        while (Written(job.Snapshot) < written)
        {
            if (job.Completion.IsCompleted)
            {
                if (job.Completion.IsFaulted) Assert.Fail($"the job failed before {written} blocks were written: {job.Completion.Exception!.InnerException}{context()}");
                Assert.Fail($"the job ended before {written} blocks were written: make it longer{context()}");
            }
            if (clock.Elapsed > TimeSpan.FromSeconds(90)) Assert.Fail($"fewer than {written} blocks written within 90 s{context()}");
            await Task.Delay(20);
        }
        sink.Close();
        while (Queued(job.Snapshot) < queued)
        {
            if (job.Completion.IsCompleted) Assert.Fail($"the job ended while the sink was held{context()}");
            if (clock.Elapsed > TimeSpan.FromSeconds(120)) Assert.Fail($"fewer than {queued} blocks queued for the sink within 120 s{context()}");
            await Task.Delay(5);
        }
        return (job.Snapshot, clock);
    }
}
