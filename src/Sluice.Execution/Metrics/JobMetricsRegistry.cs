namespace Sluice.Execution.Metrics;

/// <summary>
/// The jobs the metrics report: every running one, and the last <see cref="KeptFinished"/> that finished, so that a
/// scrape after a job ends still reads its final counts (a counter that vanished would lose its last increase).
/// </summary>
internal static class JobMetricsRegistry
{
    /// <summary>Finished jobs kept; a long-lived service forgets the oldest, so series stay bounded.</summary>
    public const int KeptFinished = 32;

    private static readonly Lock Gate = new();
    private static readonly List<JobRecorder> Running = [];
    private static readonly List<JobRecorder> Done = [];

    /// <summary>
    /// A job of the name of a finished one (the same spec run again) supersedes it: both would report the same series,
    /// and the new job's counts are the ones that grow from here (Prometheus reads the drop as a counter reset).
    /// </summary>
    public static void Add(JobRecorder job)
    {
        lock (Gate)
        {
            Done.RemoveAll(d => d.Job == job.Job);
            Running.Add(job);
        }
    }

    public static void Finished(JobRecorder job)
    {
        lock (Gate)
        {
            if (!Running.Remove(job)) return;
            if (Running.Exists(r => r.Job == job.Job)) return;   // already superseded by a newer run
            Done.Add(job);
            if (Done.Count > KeptFinished) Done.RemoveAt(0);
        }
    }

    /// <summary>The jobs to report, the running ones refreshed from their live snapshots.</summary>
    public static JobRecorder[] Jobs()
    {
        JobRecorder[] all;
        lock (Gate) all = [.. Done, .. Running];
        foreach (var job in all) job.Refresh();
        return all;
    }
}
