using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Sluice.Execution;
using Sluice.Jobs;
using Sluice.Service.Api;
using Sluice.Service.Auth;
using Sluice.Service.History;
using Sluice.Service.Queue;
using Sluice.Service.Roots;
using OpenTelemetry.Metrics;
using Sluice.Telemetry;

namespace Sluice.Service;

/// <summary>
/// The job service in an ASP.NET Core host: <see cref="AddSluiceService"/> registers its parts, <see cref="MapSluiceService"/>
/// its endpoints (the REST API, <c>/healthz</c>, <c>/openapi/v1.json</c>), and <see cref="RunAsync"/> does both on Kestrel
/// for <c>sluice serve</c>.
/// </summary>
public static class ServiceHost
{
    /// <summary>Where the history lives when no state directory is given: <c>$XDG_STATE_HOME/sluice</c>, else <c>~/.local/state/sluice</c>.</summary>
    public static string DefaultStateDirectory() =>
        Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } state
            ? Path.Combine(state, "sluice")
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state", "sluice");

    /// <exception cref="ArgumentException">The options have problems (<see cref="ServiceOptions.Problems"/>).</exception>
    public static IServiceCollection AddSluiceService(this IServiceCollection services, ServiceOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Problems().ToList();
        if (problems.Count > 0) throw new ArgumentException(string.Join(Environment.NewLine, problems), nameof(options));
        var stateDirectory = Path.GetFullPath(options.StateDirectory ?? DefaultStateDirectory());
        services.AddSingleton(options);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(new TokenSet(options.Tokens));
        // A job may not write into the service's own state: its history would be a job's output.
        services.AddSingleton(new RootPolicy(options.Roots, [stateDirectory]));
        services.AddSingleton(_ => new JobStore(stateDirectory));
        services.AddSingleton(sp =>
        {
            var detected = NodeResources.Detect();
            return new JobManager(sp.GetRequiredService<JobStore>(), sp.GetRequiredService<RootPolicy>(), options.Registry ?? JobRegistry.CreateDefault(),
                detected, options.Capacity ?? detected, sp.GetRequiredService<TimeProvider>(), options.Runtime);
        });
        services.AddHostedService<JobLifetime>();
        services.ConfigureHttpJsonOptions(o => ApiJson.Configure(o.SerializerOptions));
        services.AddProblemDetails();
        services.AddOpenApi();
        // The engine's meter (rows, queues, actors, devices of every job) for Prometheus at /metrics.
        services.AddSluiceMetrics(null, m => m.AddPrometheusExporter());
        return services;
    }

    public static WebApplication MapSluiceService(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseMiddleware<BearerTokens>();
        app.MapGet("/healthz", () => Results.Text("ok\n")).WithSummary("liveness: open, no token needed");
        app.MapOpenApi();
        JobEndpoints.Map(app);
        // Behind the token like /api (BearerTokens): stage labels name the jobs' inputs and outputs. Prometheus sends it with
        // authorization: { credentials_file: ... } in its scrape config.
        app.MapPrometheusScrapingEndpoint();
        Dashboard.Map(app);
        return app;
    }

    /// <summary>Runs the service on Kestrel until <paramref name="cancellationToken"/> ends, then stops its running jobs (recorded as interrupted).</summary>
    /// <param name="listening">Told the address bound (<c>http://127.0.0.1:8080</c>) once the service accepts requests.</param>
    public static async Task RunAsync(ServiceOptions options, Action<string> listening, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(listening);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, Args = [] });
        if (!ListenAddress.TryParse(options.Listen, out var endpoint)) throw new ArgumentException($"--listen {options.Listen}: give HOST:PORT", nameof(options));
        builder.WebHost.UseKestrel(k => k.Listen(endpoint));
        // Requests are not logged (their headers hold the tokens); warnings and errors are.
        builder.Logging.ClearProviders().AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSluiceService(options);
        var app = builder.Build();
        await using var disposeApp = app.ConfigureAwait(false);
        app.MapSluiceService();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        foreach (var address in app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []) listening(address);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
    }
}
