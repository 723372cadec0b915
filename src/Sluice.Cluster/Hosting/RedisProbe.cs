using StackExchange.Redis;

namespace Sluice.Cluster.Hosting;

/// <summary>Whether the cluster's Redis answers now, asked on a connection of its own (a stopping silo's may be closed already).</summary>
internal static class RedisProbe
{
    /// <summary>Null when Redis answers a PING within <paramref name="timeout"/>; else one line naming the masked address and why not.</summary>
    public static async Task<string?> FailureAsync(RedisAddress redis, TimeSpan timeout)
    {
        var configuration = redis.ToConfiguration();
        configuration.ConnectTimeout = (int)timeout.TotalMilliseconds;
        configuration.AsyncTimeout = (int)timeout.TotalMilliseconds;
        configuration.ConnectRetry = 1;
        configuration.AbortOnConnectFail = true;
        try
        {
            var connecting = ConnectionMultiplexer.ConnectAsync(configuration);
            if (await Task.WhenAny(connecting, Task.Delay(timeout * 2)).ConfigureAwait(false) != connecting)
            {
                // Closed whenever it ends; nobody waits for it.
                _ = connecting.ContinueWith(t => { if (t.IsCompletedSuccessfully) t.Result.Dispose(); }, TaskScheduler.Default);
                return Unreachable(redis, $"no connection within {(timeout * 2).TotalSeconds:0} s");
            }
            var muxer = await connecting.ConfigureAwait(false);
            await using (muxer.ConfigureAwait(false))
            {
                await muxer.GetDatabase().PingAsync().ConfigureAwait(false);
                return null;
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            // The type only: StackExchange.Redis' messages may echo its configuration.
            return Unreachable(redis, e.GetType().Name);
        }
    }

    private static string Unreachable(RedisAddress redis, string why) => $"Redis at {redis} is unreachable ({why})";
}
