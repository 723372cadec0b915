using System.Net;
using System.Text;
using Microsoft.Extensions.Hosting;

namespace Sluice.Cluster.Hosting;

/// <summary>
/// A worker's health over HTTP, for Kubernetes probes and load balancers (<c>sluice worker --health HOST:PORT</c>):
/// <c>/healthz</c> answers 200 while the process serves (liveness: a hung process stops answering), <c>/readyz</c>
/// 200 once the node is an active member and not draining, else 503 with the reason (readiness): also while Redis is
/// unreachable (membership cannot be confirmed) and while the worker rejoins after being dropped. Plain
/// <see cref="HttpListener"/>: two fixed routes do not warrant a web framework in every worker.
/// </summary>
internal sealed class HealthEndpoint(WorkerHealth health, string listen) : IHostedService, IDisposable
{
    /// <summary>For a worker whose silo is never rebuilt (one in an application's host).</summary>
    public HealthEndpoint(ClusterNode node, string listen) : this(new WorkerHealth(node), listen)
    {
    }

    private readonly HttpListener _listener = new();
    private Task _serving = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Checked with the node's options (ClusterNodeOptions.Validate): HOST:PORT with a port.
        if (!NodeAddress.TryParse(listen, out var address, out var error)) throw new SluiceException($"--health: '{listen}' is not accepted: {error}");
        // HttpListener's wildcard is '+'; an IP address listens on that address only.
        var host = NodeEndpoints.IsWildcard(address.Host) ? "+"
            : address.Host.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address.Host}]" : address.Host.ToString();
        _listener.Prefixes.Add($"http://{host}:{address.Port}/");
        try
        {
            _listener.Start();
        }
        catch (HttpListenerException e)
        {
            throw new SluiceException($"--health: cannot listen on {listen}: {e.Message}; give a free port on an address of this machine");
        }
        _serving = Task.Run(ServeAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            var (status, text) = Answer(context.Request.Url?.AbsolutePath);
            try
            {
                var body = Encoding.UTF8.GetBytes(text + "\n");
                context.Response.StatusCode = status;
                context.Response.ContentType = "text/plain; charset=utf-8";
                await context.Response.OutputStream.WriteAsync(body).ConfigureAwait(false);
                context.Response.Close();
            }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
            {
                // The prober hung up: nothing to answer.
            }
        }
    }

    /// <summary>The answer to one path: a status and one line saying why.</summary>
    internal (int Status, string Text) Answer(string? path)
    {
        // One read of each: the supervisor may swap the node between two checks.
        var (node, why) = (health.Node, health.Out);
        return path switch
        {
            "/healthz" => (200, $"ok: node {node?.Id ?? health.NodeId}"),
            "/readyz" when node is not null && node.Draining => (503, $"draining: node {node.Id} takes no new work ({node.TasksInFlight} task(s) in flight, {node.HeldBlocks} block(s) held)"),
            "/readyz" when why is not null => (503, $"out of the cluster: {why}"),
            "/readyz" when node is null || !node.Joined => (503, $"joining: node {node?.Id ?? health.NodeId} is not an active member yet"),
            "/readyz" => (200, $"ready: node {node.Id} is an active member"),
            _ => (404, "not found: /healthz (liveness) and /readyz (readiness) are served"),
        };
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_listener.IsListening) _listener.Stop();
        await _serving.ConfigureAwait(false);
    }

    public void Dispose() => _listener.Close();
}
