using Microsoft.Extensions.Time.Testing;
using Sluice.Contracts;

namespace Sluice.Execution.Tests.Simulation;

/// <summary>
/// The mechanism of honest simulated time, on a fake clock (no sleeps, no timing): a hold ends when the clock
/// reaches its deadline, not when a timer happens to fire, and whatever the clock overshoots is held, not asked.
/// Real-time accuracy is measured by <c>bench ... simtime</c>.
/// </summary>
public sealed class SimulatedTimeTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task RunAsync_TimerFiredBeforeDeadline_EndsExactlyAtDeadline()
    {
        var clock = new FakeTimeProvider();
        var devices = new SimulatedDevices(1, clock) { TimerSlack = TimeSpan.FromMilliseconds(2) };
        var hold = devices.RunAsync(0, TimeSpan.FromMilliseconds(10), CancellationToken.None).AsTask();

        clock.Advance(TimeSpan.FromMilliseconds(8.5)); // the timer (at 8 ms) has fired: the final stretch waits on
        clock.Advance(TimeSpan.FromMilliseconds(1.4)); // 9.9 ms: still short of the deadline
        await Task.Delay(50);
        Assert.False(hold.IsCompleted, "the hold ended before the clock reached its deadline");

        clock.Advance(TimeSpan.FromMilliseconds(0.1));
        await hold.WaitAsync(Wait);
        Assert.Equal(TimeSpan.FromMilliseconds(10), devices.BusyTimes()[0]);
        Assert.Equal(TimeSpan.FromMilliseconds(10), devices.AskedTimes()[0]);
    }

    [Fact]
    public async Task RunAsync_ClockOvershootsTheDeadline_CountsOvershootAsHeldNotAsked()
    {
        var clock = new FakeTimeProvider();
        var devices = new SimulatedDevices(2, clock);
        var hold = devices.RunAsync(1, TimeSpan.FromMilliseconds(1), CancellationToken.None).AsTask();

        clock.Advance(TimeSpan.FromMilliseconds(4)); // a late wake-up, as a 4 ms kernel tick would give
        await hold.WaitAsync(Wait);

        Assert.Equal(TimeSpan.FromMilliseconds(4), devices.BusyTimes()[1]);
        Assert.Equal(TimeSpan.FromMilliseconds(1), devices.AskedTimes()[1]);
        Assert.Equal(TimeSpan.Zero, devices.AskedTimes()[0]);
        clock.Advance(TimeSpan.FromMilliseconds(4)); // 8 ms of wall: asked 1/8, held 4/8
        Assert.Equal(0.125, devices.AskedUtilization()[1], 6);
        Assert.Equal(0.5, devices.Utilization()[1], 6);
    }

    [Fact]
    public async Task RunAsync_ShortHoldsBelowTheSlack_NeverUseTheTimerAndEndAtTheirDeadlines()
    {
        var clock = new FakeTimeProvider();
        var devices = new SimulatedDevices(1, clock) { TimerSlack = TimeSpan.FromMilliseconds(5) };
        for (var i = 0; i < 20; i++)
        {
            var hold = devices.RunAsync(0, TimeSpan.FromMilliseconds(1), CancellationToken.None).AsTask();
            clock.Advance(TimeSpan.FromMilliseconds(0.5));
            clock.Advance(TimeSpan.FromMilliseconds(0.5));
            await hold.WaitAsync(Wait);
        }
        Assert.Equal(TimeSpan.FromMilliseconds(20), devices.BusyTimes()[0]);
        Assert.Equal(TimeSpan.FromMilliseconds(20), devices.AskedTimes()[0]);
    }

    [Fact]
    public async Task RunAsync_CancelledInTheFinalStretch_ThrowsAndFreesTheDevice()
    {
        var clock = new FakeTimeProvider();
        var devices = new SimulatedDevices(1, clock);
        using var cts = new CancellationTokenSource();
        var hold = devices.RunAsync(0, TimeSpan.FromMilliseconds(3), cts.Token).AsTask();
        clock.Advance(TimeSpan.FromMilliseconds(1));

        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => hold.WaitAsync(Wait));

        var next = devices.RunAsync(0, TimeSpan.Zero, CancellationToken.None).AsTask();
        await next.WaitAsync(Wait);
        Assert.Equal(TimeSpan.Zero, devices.AskedTimes()[0]);
    }

    [Fact]
    public void TimerSlack_Negative_IsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new SimulatedDevices(1) { TimerSlack = TimeSpan.FromMilliseconds(-1) });
}
