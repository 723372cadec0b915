using System.Diagnostics;
using System.Globalization;

namespace Sluice.IO.Output;

/// <summary>
/// An output directory's lock, held by the run that writes it from open to complete or abort, so a
/// second run into the same output (a resume, or an overwrite that would delete the first run's parts)
/// is refused instead of interleaving with it.
/// The exclusion is the OS's: <c>_sluice.lock</c> is opened with <see cref="FileShare.None"/> (an
/// exclusive <c>flock</c> on Unix), which the OS releases when the process dies, so a lock left by a
/// killed run is free and simply taken over. The holder (pid, host, start time) is written to
/// <c>_sluice.lock.holder</c>, a separate file because an exclusively locked file cannot be read by
/// the run that is refused, and that run must name the holder.
/// </summary>
internal sealed class OutputLock : IDisposable
{
    public const string FileName = "_sluice.lock";
    public const string HolderFileName = "_sluice.lock.holder";

    private readonly FileStream _stream;
    private readonly string _holderPath;

    private OutputLock(FileStream stream, string holderPath, string? staleHolder)
    {
        _stream = stream;
        _holderPath = holderPath;
        StaleHolder = staleHolder;
    }

    /// <summary>The holder recorded by a run that ended without releasing the lock (killed), now taken over; null if none.</summary>
    public string? StaleHolder { get; }

    /// <summary>Takes the lock of <paramref name="directory"/> (which must exist) or refuses, naming the run that holds it.</summary>
    public static OutputLock Acquire(string directory)
    {
        var lockPath = Path.Combine(directory, FileName);
        var holderPath = Path.Combine(directory, HolderFileName);
        FileStream stream;
        try
        {
            stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (IsHeldElsewhere(e))
        {
            throw new SluiceException(
                $"output '{directory}' is being written by another run ({ReadHolder(holderPath) ?? "holder unknown"}); " +
                "wait for it to end or stop it — a second run, even with --overwrite, would mix or delete its parts", e);
        }
        var stale = ReadHolder(holderPath);
        var holder = string.Create(CultureInfo.InvariantCulture,
            $"pid {Environment.ProcessId} on {Environment.MachineName}, started {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss}Z");
        File.WriteAllText(holderPath, holder);
        return new OutputLock(stream, holderPath, stale);
    }

    /// <summary>Releases the lock; the holder record goes first, so no later reader names a run that has ended.</summary>
    public void Dispose()
    {
        try
        {
            File.Delete(_holderPath);
        }
        catch (IOException e)
        {
            // Losing the holder record only makes a later message less precise; the OS lock still goes.
            Debug.WriteLine($"could not delete {_holderPath}: {e.Message}");
        }
        // The lock file itself stays: deleting it would let a run that opened it just before lock a
        // file no one else sees, while a third run creates and locks a new one.
        _stream.Dispose();
    }

    /// <summary>
    /// Whether opening failed because another handle holds the lock, not for another I/O reason (a
    /// read-only file system, a full disk), which must not be reported as another run. .NET reports a
    /// held <c>flock</c> with the errno as HResult (EWOULDBLOCK: 11 on Linux, 35 on macOS) and a
    /// sharing or lock violation on Windows.
    /// </summary>
    private static bool IsHeldElsewhere(IOException e) =>
        e.HResult is 11 or 35 or unchecked((int)0x80070020) or unchecked((int)0x80070021);

    private static string? ReadHolder(string holderPath)
    {
        try
        {
            return File.Exists(holderPath) ? File.ReadAllText(holderPath).Trim() : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
