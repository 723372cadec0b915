using Sluice.Contracts;

namespace Sluice.Core.Tests;

public sealed class SimulatedDevicesTests
{
    [Fact]
    public async Task HoldAsync_TwoDevices_BothBusyForTheWorkAndHeldExclusively()
    {
        var devices = new SimulatedDevices(3);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new ManualResetEventSlim();

        var first = Task.Run(async () => await devices.HoldAsync([1, 0], () =>
        {
            entered.SetResult();
            release.Wait(TimeSpan.FromSeconds(10));
            return 1;
        }, CancellationToken.None));
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // Device 1 is held: a second holder of it waits; device 2 is free.
        var second = devices.HoldAsync([1], () => 2, CancellationToken.None).AsTask();
        Assert.Equal(3, await devices.HoldAsync([2], () => 3, CancellationToken.None));
        Assert.False(second.IsCompleted);

        release.Set();
        Assert.Equal(1, await first);
        Assert.Equal(2, await second);
        var busy = devices.BusyTimes();
        Assert.True(busy[0] > TimeSpan.Zero && busy[1] >= busy[0], $"busy: {string.Join(", ", busy)}");
    }

    [Fact]
    public async Task HoldAsync_DeviceThatDoesNotExist_ThrowsNamingIt()
    {
        var devices = new SimulatedDevices(2);
        var e = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => devices.HoldAsync([0, 5], () => 0, CancellationToken.None).AsTask());
        Assert.Contains("device 5 does not exist", e.Message);
    }
}
