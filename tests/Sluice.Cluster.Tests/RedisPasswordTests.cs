namespace Sluice.Cluster.Tests;

/// <summary>
/// A Redis that requires a password (<c>redis-server --requirepass</c>): driver and workers join with it from the URL,
/// the environment or a file; a wrong or missing one is one line naming the masked address, and the password is never printed.
/// </summary>
public sealed class RedisPasswordTests
{
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(60);

    private static string Password() => $"pw-{Guid.NewGuid():N}";

    private static string Tag() => Guid.NewGuid().ToString("N")[..6];

    [Fact]
    public async Task Join_PasswordInUrl_DriverAndWorkerJoin()
    {
        using var redis = await RedisServer.StartAsync(Password());
        await using var driver = await OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions { Redis = redis.UriWithPassword, NodeId = $"driver-{Tag()}" });
        using var worker = await WorkerProcess.StartAsync(redis.UriWithPassword, $"w-url-{Tag()}", "--cpus", "1", "--memory", "1GiB");

        await driver.WaitForWorkersAsync(1, JoinTimeout);

        Assert.Contains(driver.Nodes, n => n.Id == worker.NodeId);
        Assert.Contains($"redis://***@127.0.0.1:{redis.Port}", worker.Output);
        Assert.DoesNotContain(redis.Password!, worker.Output);
    }

    [Fact]
    public async Task Join_PasswordFromEnvironmentAndFile_DriverAndWorkerJoin()
    {
        using var redis = await RedisServer.StartAsync(Password());
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, redis.Password + "\n");
            // The driver reads the file; one worker the environment variable, the other the file (--redis-password-file).
            await using var driver = await OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions { Redis = redis.Uri, RedisPasswordFile = file, NodeId = $"driver-{Tag()}" });
            using var fromEnvironment = await WorkerProcess.StartAsync(redis.Uri, $"w-env-{Tag()}",
                new Dictionary<string, string> { ["SLUICE_REDIS_PASSWORD"] = redis.Password! }, "--cpus", "1", "--memory", "1GiB");
            using var fromFile = await WorkerProcess.StartAsync(redis.Uri, $"w-file-{Tag()}", "--redis-password-file", file, "--cpus", "1", "--memory", "1GiB");

            await driver.WaitForWorkersAsync(2, JoinTimeout);

            Assert.Contains(driver.Nodes, n => n.Id == fromEnvironment.NodeId);
            Assert.Contains(driver.Nodes, n => n.Id == fromFile.NodeId);
            Assert.DoesNotContain(redis.Password!, fromEnvironment.Output + fromFile.Output);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task StartAsync_WrongPassword_OneLineNamingTheMaskedAddress()
    {
        using var redis = await RedisServer.StartAsync(Password());
        var wrong = $"wrong-{Guid.NewGuid():N}";

        var e = await Assert.ThrowsAsync<SluiceException>(() => OrleansWorkerRuntime.StartAsync(
            new ClusterNodeOptions { Redis = $"redis://:{wrong}@127.0.0.1:{redis.Port}", NodeId = $"driver-{Tag()}" }));

        Assert.Equal($"Redis at redis://***@127.0.0.1:{redis.Port} refused the password (WRONGPASS): give it in the URL (redis://:PASSWORD@HOST:PORT), " +
            "in the environment variable SLUICE_REDIS_PASSWORD, or in a file with --redis-password-file PATH, the one its requirepass or ACL sets", e.Message);
        Assert.DoesNotContain(wrong, e.ToString());
        Assert.DoesNotContain(redis.Password!, e.ToString());
    }

    [Fact]
    public async Task StartAsync_NoPassword_OneLineSayingWhatToGive()
    {
        using var redis = await RedisServer.StartAsync(Password());

        var e = await Assert.ThrowsAsync<SluiceException>(() => OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions { Redis = redis.Uri, NodeId = $"driver-{Tag()}" }));

        Assert.Equal($"Redis at redis://127.0.0.1:{redis.Port} wants a password (NOAUTH): give it in the URL (redis://:PASSWORD@HOST:PORT), " +
            "in the environment variable SLUICE_REDIS_PASSWORD, or in a file with --redis-password-file PATH", e.Message);
    }

    [Fact]
    public async Task Worker_WrongPassword_ExitsWithOneLineThatNeverShowsThePassword()
    {
        using var redis = await RedisServer.StartAsync(Password());
        var wrong = $"wrong-{Guid.NewGuid():N}";

        var e = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => WorkerProcess.StartAsync($"redis://:{wrong}@127.0.0.1:{redis.Port}", $"w-wrong-{Tag()}"));

        Assert.Contains($"Redis at redis://***@127.0.0.1:{redis.Port} refused the password (WRONGPASS)", e.Message);
        Assert.DoesNotContain(wrong, e.Message);
        Assert.DoesNotContain(redis.Password!, e.Message);
    }

    [Fact]
    public async Task StartAsync_RedisUnreachableWithPassword_NamesOnlyTheMaskedAddress()
    {
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        var e = await Assert.ThrowsAsync<SluiceException>(() => OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions { Redis = "redis://:s3cret-pw@127.0.0.1:1" }));

        Assert.Equal("cannot reach Redis at redis://***@127.0.0.1:1: is redis-server running there? Start it, or give the right address with --cluster redis://HOST:PORT", e.Message);
        Assert.DoesNotContain("s3cret-pw", e.ToString());
    }
}
