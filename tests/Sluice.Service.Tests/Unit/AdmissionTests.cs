using Sluice.Execution;
using Sluice.Service.Queue;

namespace Sluice.Service.Tests;

public class AdmissionTests
{
    private static readonly NodeResources Node = new(Cpus: 4, Gpus: 2, MemoryBytes: 8L << 30);

    [Fact]
    public void Decide_FitsBesideRunningJobs_Starts()
    {
        var decision = Admission.Decide(new JobDemand(1, 1, 0), [new JobDemand(2, 1, 1L << 30)], Node);
        Assert.True(decision.Start);
    }

    [Fact]
    public void Decide_MoreCpusThanLeftFree_WaitsAndSaysWhy()
    {
        var decision = Admission.Decide(new JobDemand(2, 0, 0), [new JobDemand(3, 0, 0)], Node);
        Assert.False(decision.Start);
        Assert.Contains("waiting for resources", decision.Reason);
        Assert.Contains("cpus 2 (free 1 of 4)", decision.Reason);
    }

    [Fact]
    public void Decide_GpusAndMemory_AreCountedToo()
    {
        Assert.Contains("gpus 1 (free 0 of 2)", Admission.Decide(new JobDemand(0, 1, 0), [new JobDemand(0, 1, 0), new JobDemand(0, 1, 0)], Node).Reason);
        Assert.Contains("memory", Admission.Decide(new JobDemand(0, 0, 5L << 30), [new JobDemand(0, 0, 4L << 30)], Node).Reason);
    }

    [Fact]
    public void Decide_FractionalGpusAddingUpToTheDevice_Fit() =>
        Assert.True(Admission.Decide(new JobDemand(0, 0.1, 0), [new JobDemand(0, 0.7, 0), new JobDemand(0, 0.2, 0), new JobDemand(0, 1, 0)], Node).Start);

    [Fact]
    public void Decide_NothingRunning_StartsAnythingThatFitsTheNode() => Assert.True(Admission.Decide(new JobDemand(4, 2, 8L << 30), [], Node).Start);

    [Fact]
    public void NeverFits_AMinimumAboveTheWholeNode_SaysSo()
    {
        Assert.Null(Admission.NeverFits(new JobDemand(4, 0, 0), Node));
        Assert.Contains("exceed what the service has", Admission.NeverFits(new JobDemand(5, 0, 0), Node));
    }
}
