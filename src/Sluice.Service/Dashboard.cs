using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;

namespace Sluice.Service;

/// <summary>
/// The dashboard (<c>wwwroot/</c>, built into the assembly): the job list and a live job page, served at <c>/</c> without
/// a token — the page itself holds no data; it asks the API with the token the user gives it (in the URL fragment, or typed).
/// </summary>
internal static class Dashboard
{
    public static void Map(WebApplication app)
    {
        var files = new ManifestlessFiles(typeof(Dashboard).Assembly);
        var types = new FileExtensionContentTypeProvider();
        app.MapGet("/", () => files.Serve("index.html", types)).ExcludeFromDescription();
        app.MapGet("/{**path}", (string path) => files.Serve(path, types)).ExcludeFromDescription();
    }

    /// <summary>The embedded <c>wwwroot/…</c> resources by their path; only those, nothing of the file system.</summary>
    private sealed class ManifestlessFiles(System.Reflection.Assembly assembly)
    {
        private readonly HashSet<string> _names = assembly.GetManifestResourceNames().Where(n => n.StartsWith("wwwroot/", StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);

        public IResult Serve(string path, FileExtensionContentTypeProvider types)
        {
            var name = "wwwroot/" + path;
            if (!_names.Contains(name)) return Results.NotFound();
            var type = types.TryGetContentType(path, out var t) ? t : "application/octet-stream";
            return Results.Stream(assembly.GetManifestResourceStream(name)!, type);
        }
    }
}
