using System.Net;
using System.Net.Sockets;
using Sluice.Cluster.Hosting;
using Sluice.Cluster.Tests.Support;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.IO;

namespace Sluice.Cluster.Tests;

/// <summary>--listen and --advertise: parsed strictly, validated with the flag named, resolved with POD_IP as the default.</summary>
public sealed class NodeAddressTests
{
    private static readonly NodeResources Detected = new(2, 0, 24L << 30);

    private static List<string> Validate(string? listen = null, string? advertise = null, string? podIp = null) =>
        new ClusterNodeOptions { Redis = "redis://127.0.0.1:6379", Resources = new NodeResources(1, 0, 1L << 30), Listen = listen, Advertise = advertise }
            .Validate(Detected, podIp).ToList();

    private static NodeEndpoints Resolve(string? listen = null, string? advertise = null, string? podIp = null) =>
        NodeEndpoints.Resolve(new ClusterNodeOptions { Redis = "redis://127.0.0.1:6379", Listen = listen, Advertise = advertise }, podIp, _ => 40000);

    [Theory]
    [InlineData("127.0.0.1:11111", "127.0.0.1", 11111)]
    [InlineData("0.0.0.0:0", "0.0.0.0", 0)]
    [InlineData("198.18.0.5:65535", "198.18.0.5", 65535)]
    [InlineData("[::1]:11111", "::1", 11111)]
    [InlineData("[::]:5", "::", 5)]
    [InlineData("localhost:7", "127.0.0.1", 7)]
    [InlineData("10.1.2.3", "10.1.2.3", null)]
    [InlineData("fd00::5", "fd00::5", null)]
    public void TryParse_Accepted(string text, string host, int? port)
    {
        Assert.True(NodeAddress.TryParse(text, out var address, out var error), error);
        Assert.Equal(IPAddress.Parse(host), address.Host);
        Assert.Equal(port, address.Port);
    }

    [Theory]
    [InlineData("")]
    [InlineData(":11111")]
    [InlineData("1:11111")]
    [InlineData("1.2.3:11111")]
    [InlineData("1.2.3.256:1")]
    [InlineData("example.com:11111")]
    [InlineData("10.0.0.1:65536")]
    [InlineData("10.0.0.1:-1")]
    [InlineData("10.0.0.1:")]
    [InlineData("10.0.0.1:x")]
    [InlineData("[::1")]
    [InlineData("[::1]x")]
    [InlineData("[10.0.0.1]:5")]
    public void TryParse_Refused(string text) => Assert.False(NodeAddress.TryParse(text, out _, out _));

    [Fact]
    public void Validate_GoodAddresses_Accepted()
    {
        Assert.Empty(Validate());
        Assert.Empty(Validate("0.0.0.0:11111", "10.0.0.5"));
        Assert.Empty(Validate("10.0.0.5:11111", "203.0.113.9:30111"));
        Assert.Empty(Validate("127.0.0.1:0"));
        Assert.Empty(Validate(podIp: "10.244.1.7"));
    }

    [Fact]
    public void Validate_BadListen_NamesTheFlag()
    {
        Assert.StartsWith("--listen: 'nowhere:1' is not accepted: 'nowhere' is not an IP address", Assert.Single(Validate("nowhere:1")));
        Assert.StartsWith("--listen: '10.0.0.5:99999' is not accepted: port '99999' is not a number from 0 to 65535", Assert.Single(Validate("10.0.0.5:99999")));
        Assert.StartsWith("--listen: '10.0.0.5' has no port; give HOST:PORT", Assert.Single(Validate("10.0.0.5")));
    }

    [Fact]
    public void Validate_BadAdvertise_NamesTheFlag()
    {
        Assert.StartsWith("--advertise: '10.0.0' is not accepted:", Assert.Single(Validate(advertise: "10.0.0")));
        Assert.Contains("cannot call a wildcard address", Assert.Single(Validate(advertise: "0.0.0.0")));
        Assert.Contains("port 0 cannot be called", Assert.Single(Validate("10.0.0.5:1", "10.0.0.5:0")));
        Assert.Contains("give --listen HOST:PORT with a port too", Assert.Single(Validate(advertise: "10.0.0.5:11111")));
    }

    [Fact]
    public void Validate_BadPodIp_NamesTheVariable_UnlessAdvertiseIsGiven()
    {
        Assert.StartsWith("POD_IP: 'not-an-ip' is not accepted as the advertised address", Assert.Single(Validate(podIp: "not-an-ip")));
        Assert.Empty(Validate(advertise: "10.0.0.5", podIp: "not-an-ip"));
    }

    [Fact]
    public void Resolve_Defaults_LoopbackAndAFreePort()
    {
        var e = Resolve();
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 40000), e.Listen);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 40000), e.Advertise);
    }

    [Fact]
    public void Resolve_PodIp_IsTheDefaultAdvertisedAddress()
    {
        var e = Resolve("0.0.0.0:11111", podIp: "10.244.1.7");
        Assert.Equal(new IPEndPoint(IPAddress.Any, 11111), e.Listen);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.244.1.7"), 11111), e.Advertise);
    }

    [Fact]
    public void Resolve_ListenHost_IsTheDefaultAdvertisedAddress_UnlessAWildcard()
    {
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.0.0.5"), 11111), Resolve("10.0.0.5:11111").Advertise);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 11111), Resolve("0.0.0.0:11111").Advertise);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 40000), Resolve("0.0.0.0:0").Advertise);
    }

    [Fact]
    public void Resolve_ExplicitAdvertise_WinsOverPodIp_AndMayNameAnotherPort()
    {
        var e = Resolve("0.0.0.0:11111", "203.0.113.9:30111", podIp: "10.244.1.7");
        Assert.Equal(new IPEndPoint(IPAddress.Any, 11111), e.Listen);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("203.0.113.9"), 30111), e.Advertise);
    }

    [Fact]
    public void Build_BadListen_IsRefusedWithTheFlag()
    {
        var e = Assert.Throws<SluiceException>(() => ClusterHost.Build(new ClusterNodeOptions { Redis = "redis://127.0.0.1:6379", Listen = "10.0.0.5" }, "driver"));
        Assert.Contains("--listen: '10.0.0.5' has no port", e.Message);
    }
}

/// <summary>A worker given --listen with an explicit port and --advertise listens there, joins, and runs tasks.</summary>
[Collection(OwnClusterCollection.Name)]
public sealed class ListenAdvertiseTests
{
    [Fact]
    public async Task PickedPortTakenBeforeTheSiloBinds_NodeRetriesAnotherAndStarts()
    {
        // The race of a picked port, forced: the first port "found free" is held by another listener when the silo binds.
        using var redis = await RedisServer.StartAsync();
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var taken = ((IPEndPoint)squatter.LocalEndpoint).Port;
        var picks = new List<int>();
        int Pick(IPAddress _)
        {
            var port = picks.Count == 0 ? taken : FreePort();
            picks.Add(port);
            return port;
        }
        var log = new List<string>();
        using var host = await ClusterHost.StartNewAsync(new ClusterNodeOptions { Redis = redis.Uri, NodeId = $"picked-{Guid.NewGuid():N}"[..14] }, "driver",
            log.Add, CancellationToken.None, Pick);
        Assert.Equal(2, picks.Count);
        Assert.Contains(log, l => l.Contains("was taken before it could bind; trying another", StringComparison.Ordinal));
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(IPAddress.Loopback, picks[1]).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(client.Connected);
        }
        await host.StopAsync();
    }

    [Fact]
    public async Task GivenPortTaken_NotRetried_TheErrorSaysItIsInUse()
    {
        using var redis = await RedisServer.StartAsync();
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var taken = ((IPEndPoint)squatter.LocalEndpoint).Port;
        var e = await Assert.ThrowsAnyAsync<Exception>(() => ClusterHost.StartNewAsync(
            new ClusterNodeOptions { Redis = redis.Uri, NodeId = $"given-{Guid.NewGuid():N}"[..13], Listen = $"127.0.0.1:{taken}" }, "driver", null, CancellationToken.None));
        Assert.True(ClusterHost.PortTaken(e), e.ToString());
    }

    [Fact]
    public async Task Worker_ListenOnAGivenPort_JoinsAndRunsTasks()
    {
        using var redis = await RedisServer.StartAsync();
        await using var driver = await OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions
        {
            Redis = redis.Uri, NodeId = $"driver-{Guid.NewGuid():N}"[..14], Listen = $"127.0.0.1:{FreePort()}", Advertise = "127.0.0.1",
        });
        var port = FreePort();
        using var worker = await WorkerProcess.StartAsync(redis.Uri, $"w-listen-{Guid.NewGuid():N}"[..16],
            "--cpus", "1", "--sim-gpus", "1", "--memory", "1GiB", "--listen", $"127.0.0.1:{port}", "--advertise", "127.0.0.1");
        await driver.WaitForWorkersAsync(1, TimeSpan.FromSeconds(60));

        // The worker's silo listens on exactly the port given.
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(IPAddress.Loopback, port).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(client.Connected);
        }

        var dir = SimulatedJob.TempDir("listen");
        try
        {
            await SimulatedJob.Build(400, blockRows: 100, perRowMs: 0, new PoolSize(1, 1), new PoolSize(1, 1))
                .WriteAsync(Sinks.Parquet(dir), new ExecutionOptions { Runtime = driver, WriteMode = WriteMode.Overwrite })
                .WaitAsync(TimeSpan.FromMinutes(2));
            var rows = await JobOutput.ReadSortedAsync(dir, "pid");
            Assert.Equal(Enumerable.Range(0, 400).Select(i => (long)i), rows.Select(r => r.Id));
            Assert.Equal([worker.Pid], await JobOutput.DistinctInt32Async(dir, "pid"));
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); }
            catch (IOException) { }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
