using System.CommandLine;
using Sluice.Cli.Commands;
using Sluice.Service;

namespace Sluice.Cli.Service;

/// <summary>
/// <c>sluice serve</c>: the job service (REST API, queue, history) on the embedded engine, or with <c>--cluster</c> as the
/// driver of a cluster (the plumbing of <c>sluice run --cluster</c>: the service hosts the driver's silo for its lifetime).
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var listen = new Option<string>("--listen") { Description = "HOST:PORT to serve HTTP on (port 0: a free one; the address is printed)", DefaultValueFactory = _ => "127.0.0.1:8080" };
        var tokenFile = new Option<string?>("--token-file") { Description = "API tokens, one per line (or SLUICE_TOKENS, comma-separated); requests need Authorization: Bearer <token>" };
        var roots = new Option<string[]>("--root") { Description = "a directory jobs may read and write under (repeatable; every path a spec names must resolve under one)", Required = true, AllowMultipleArgumentsPerToken = false };
        var state = new Option<string?>("--state") { Description = "where the job history (SQLite) lives; default $XDG_STATE_HOME/sluice or ~/.local/state/sluice" };
        var cluster = ClusterCommands.ClusterOption();
        var passwordFile = ClusterCommands.RedisPasswordFileOption();
        var redisCa = ClusterCommands.RedisCaOption();
        // --listen is the HTTP address here; the driver's silo has its own.
        var siloListen = new Option<string?>("--silo-listen") { Description = "with --cluster: where the driver's silo listens, HOST:PORT; default 127.0.0.1 and a free port" };
        var advertise = ClusterCommands.AdvertiseOption();
        var workers = ClusterCommands.WorkersOption();
        var fast = ClusterCommands.FastFailureOption();
        var tlsCa = ClusterCommands.TlsCaOption();
        var tlsCert = ClusterCommands.TlsCertOption();
        var command = new Command("serve", "run the job service: submit, watch, cancel and resume jobs over HTTP; job history survives a restart")
        {
            listen, tokenFile, roots, state, cluster, passwordFile, redisCa, siloListen, advertise, workers, fast, tlsCa, tlsCert,
        };
        command.SetAction((parse, ct) => Commands.Commands.GuardAsync(async () =>
        {
            var options = new ServiceOptions
            {
                Listen = parse.GetValue(listen)!,
                Tokens = Tokens.ForService(parse.GetValue(tokenFile)),
                Roots = [.. parse.GetValue(roots)!.Select(Path.GetFullPath)],
                StateDirectory = parse.GetValue(state) is { } s ? Path.GetFullPath(s) : null,
            };
            var problems = options.Problems().ToList();
            if (problems.Count > 0)
            {
                foreach (var problem in problems) await Console.Error.WriteLineAsync($"error: {problem}").ConfigureAwait(false);
                return Commands.Commands.Invalid;
            }
            return await ClusterCommands.WithRuntimeAsync(parse.GetValue(cluster), parse.GetValue(passwordFile), parse.GetValue(workers), parse.GetValue(fast),
                ClusterCommands.Tls(parse.GetValue(tlsCa), parse.GetValue(tlsCert)), async runtime =>
                {
                    await ServiceHost.RunAsync(options with { Runtime = runtime }, address =>
                    {
                        // Tests and scripts read this line for the port when --listen asked for port 0.
                        Console.WriteLine($"listening on {address}");
                        Console.WriteLine($"roots: {string.Join(", ", options.Roots)}; history: {options.StateDirectory ?? ServiceHost.DefaultStateDirectory()}; {options.Tokens.Count} token(s); " +
                            (runtime is null ? "embedded engine" : $"driver of a cluster of {runtime.Nodes.Count - 1} worker(s)"));
                    }, ct).ConfigureAwait(false);
                    return Commands.Commands.Ok;
                }, ct, parse.GetValue(siloListen), parse.GetValue(advertise), null, parse.GetValue(redisCa)).ConfigureAwait(false);
        }));
        return command;
    }
}
