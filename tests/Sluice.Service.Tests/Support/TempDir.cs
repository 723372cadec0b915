namespace Sluice.Service.Tests;

internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "sluice-svc-" + Guid.NewGuid().ToString("N")[..8]);

    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    public string Dir(string relative) => Directory.CreateDirectory(this[relative]).FullName;

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
