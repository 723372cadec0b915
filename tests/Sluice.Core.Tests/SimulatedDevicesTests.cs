using Microsoft.Extensions.Time.Testing;
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

    [Fact]
    public async Task RunAsync_HoldEndedLate_NextHoldOnThatDeviceGivesTheOvershootBack_AtMostHalfOfWhatItAsks()
    {
        var clock = new FakeTimeProvider();
        var devices = new SimulatedDevices(2, clock) { TimerSlack = TimeSpan.FromMilliseconds(5) };

        // Asked 10 ms; the clock lets it end 10 ms late (a loaded machine's late timer).
        var first = devices.RunAsync(0, TimeSpan.FromMilliseconds(10), CancellationToken.None).AsTask();
        clock.Advance(TimeSpan.FromMilliseconds(20));
        await first.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(TimeSpan.FromMilliseconds(20), devices.BusyTimes()[0]);

        // The next 10 ms hold gives back at most half of what it asks: it ends after 5 ms, not before.
        var second = devices.RunAsync(0, TimeSpan.FromMilliseconds(10), CancellationToken.None).AsTask();
        clock.Advance(TimeSpan.FromMilliseconds(4));
        await Task.Delay(50);
        Assert.False(second.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await second.WaitAsync(TimeSpan.FromSeconds(10));

        // The rest (5 ms) is given back by the next; another device owes nothing and holds its full time.
        var third = devices.RunAsync(0, TimeSpan.FromMilliseconds(10), CancellationToken.None).AsTask();
        var other = devices.RunAsync(1, TimeSpan.FromMilliseconds(10), CancellationToken.None).AsTask();
        clock.Advance(TimeSpan.FromMilliseconds(5));
        await third.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(other.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(5));
        await other.WaitAsync(TimeSpan.FromSeconds(10));

        // Asked is what was asked; held caught up with it.
        Assert.Equal(TimeSpan.FromMilliseconds(30), devices.AskedTimes()[0]);
        Assert.Equal(TimeSpan.FromMilliseconds(30), devices.BusyTimes()[0]);
        Assert.Equal(TimeSpan.FromMilliseconds(10), devices.BusyTimes()[1]);
    }
}
