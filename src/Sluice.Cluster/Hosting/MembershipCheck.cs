using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Sluice.Cluster.Hosting;

/// <summary>Where a node stands in the cluster's membership table, as one read of it tells: a value with its reason.</summary>
internal abstract record MembershipState
{
    /// <summary>The table lists this node's silo, alive.</summary>
    public sealed record Member : MembershipState;

    /// <summary>The table cannot be read: Redis is down or unreachable. The silos may still talk to each other.</summary>
    public sealed record Unreachable(string Reason) : MembershipState;

    /// <summary>The table no longer lists this silo alive (Redis came back empty, or the cluster declared it dead): it must rejoin.</summary>
    public sealed record Dropped(string Reason) : MembershipState;
}

/// <summary>Reads the membership table through the node's own silo (its Redis connection reconnects by itself) and says where the node stands.</summary>
internal static class MembershipCheck
{
    /// <summary>
    /// How long one read may take. StackExchange.Redis queues commands while it reconnects and fails them after its
    /// 5 s async timeout: 3 s calls Redis unreachable sooner, and a live Redis answers a read of a few entries in milliseconds.
    /// </summary>
    public static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(3);

    public static async Task<MembershipState> CheckAsync(IHost host, RedisAddress redis, CancellationToken cancellationToken)
    {
        var table = host.Services.GetRequiredService<IMembershipTable>();
        var self = host.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress;
        MembershipTableData data;
        try
        {
            data = await table.ReadAllAsync(cancellationToken).WaitAsync(ReadTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Orleans.Clustering.Redis.RedisClusteringException)
        {
            // Redis answered, but the table has no version row: it was created anew (a Redis restarted empty) or deleted.
            return new MembershipState.Dropped($"the membership table at {redis} is gone (Redis restarted empty, or the table expired or was deleted)");
        }
        catch (Exception e)
        {
            // The type only: a client library's message may echo its configuration, password included.
            return new MembershipState.Unreachable($"Redis at {redis} is unreachable ({Why(e)}): membership can be neither read nor updated");
        }
        var mine = data.Members.Select(m => m.Item1).FirstOrDefault(m => m.SiloAddress.Equals(self));
        if (mine is null)
            return new MembershipState.Dropped($"the membership table at {redis} no longer lists this node's silo {self} (Redis restarted empty, or the table was cleared)");
        if (mine.Status == SiloStatus.Dead)
            return new MembershipState.Dropped($"the membership table at {redis} lists this node's silo {self} as dead (the cluster declared it dead)");
        return new MembershipState.Member();
    }

    private static string Why(Exception e) => e switch
    {
        TimeoutException => $"no answer within {ReadTimeout.TotalSeconds:0} s",
        _ => e.GetType().Name,
    };
}
