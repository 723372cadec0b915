using System.Net.Http.Headers;
using Sluice.Execution;

namespace Sluice.Service.Tests;

/// <summary>The service in this process on a free loopback port (<see cref="ServiceHost.RunAsync"/>), stopped on dispose.</summary>
internal sealed class ApiHost : IAsyncDisposable
{
    public const string Token = "test-token-1";

    private readonly CancellationTokenSource _stop;
    private readonly Task _run;

    private ApiHost(Task run, Uri url, string root, CancellationTokenSource stop)
    {
        _run = run;
        Url = url;
        Root = root;
        _stop = stop;
    }

    public Uri Url { get; }

    public string Root { get; }

    public static async Task<ApiHost> StartAsync(TempDir dir, NodeResources? capacity = null)
    {
        var listening = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new ServiceOptions
        {
            Listen = "127.0.0.1:0",
            Tokens = [Token, "test-token-2"],
            Roots = [dir.Dir("root")],
            StateDirectory = dir["state"],
            Capacity = capacity,
            EventInterval = TimeSpan.FromMilliseconds(100),
        };
        var host = new CancellationTokenSource();
        var run = Task.Run(() => ServiceHost.RunAsync(options, a => listening.TrySetResult(a), host.Token));
        var first = await Task.WhenAny(listening.Task, run).WaitAsync(TimeSpan.FromSeconds(60));
        if (first == run) await run;
        return new ApiHost(run, new Uri(await listening.Task), options.Roots[0], host);
    }

    public HttpClient Client(string? token = Token)
    {
        var http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromMinutes(1) };
        if (token is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run.WaitAsync(TimeSpan.FromSeconds(60));
        _stop.Dispose();
    }
}
