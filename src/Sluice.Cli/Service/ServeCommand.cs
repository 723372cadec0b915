using System.CommandLine;
using Sluice.Service;

namespace Sluice.Cli.Service;

/// <summary><c>sluice serve</c>: the job service (REST API, queue, history) on the embedded engine.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var listen = new Option<string>("--listen") { Description = "HOST:PORT to serve HTTP on (port 0: a free one; the address is printed)", DefaultValueFactory = _ => "127.0.0.1:8080" };
        var tokenFile = new Option<string?>("--token-file") { Description = "API tokens, one per line (or SLUICE_TOKENS, comma-separated); requests need Authorization: Bearer <token>" };
        var roots = new Option<string[]>("--root") { Description = "a directory jobs may read and write under (repeatable; every path a spec names must resolve under one)", Required = true, AllowMultipleArgumentsPerToken = false };
        var state = new Option<string?>("--state") { Description = "where the job history (SQLite) lives; default $XDG_STATE_HOME/sluice or ~/.local/state/sluice" };
        var command = new Command("serve", "run the job service: submit, watch, cancel and resume jobs over HTTP; job history survives a restart") { listen, tokenFile, roots, state };
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
            await ServiceHost.RunAsync(options, address =>
            {
                // Tests and scripts read this line for the port when --listen asked for port 0.
                Console.WriteLine($"listening on {address}");
                Console.WriteLine($"roots: {string.Join(", ", options.Roots)}; history: {options.StateDirectory ?? ServiceHost.DefaultStateDirectory()}; {options.Tokens.Count} token(s)");
            }, ct).ConfigureAwait(false);
            return Commands.Commands.Ok;
        }));
        return command;
    }
}
