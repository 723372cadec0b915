using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Sluice.IO.ObjectStorage;

/// <summary>
/// The lock of an S3 output: an object <c>PREFIX/_sluice.lock</c> naming the run that writes it (a token of its own, pid,
/// host, boot id, pid namespace, when its process started), rewritten every <see cref="RenewEvery"/> and deleted when
/// the run ends. Ages are measured on the server's clock (the lease's and a probe object's last-modified times), so a
/// client clock that is off does not shorten a lease. A run finding a lease renewed within <see cref="Expiry"/> is
/// refused naming the holder — unless the holder was a process of this very machine and pid namespace that no longer
/// runs (a kill -9 and a resume here take over at once); a holder elsewhere is taken over once its lease has expired.
/// <para>
/// Fencing: each renewal first reads the lease back; finding another run's token there, this run has lost the output
/// and stops renewing. <see cref="EnsureHeld"/>, called before every commit, refuses once the lease is lost or has not
/// been renewed for <see cref="Expiry"/> minus <see cref="RenewEvery"/> — a run paused past its lease never commits
/// over the run that took it. S3 offers no compare-and-set every compatible server honours, so two runs that take the
/// lease within the same instant can both start; the next renewal stops one of them.
/// </para>
/// </summary>
internal sealed class S3OutputLease : IDisposable
{
    /// <summary>How often the holder rewrites the lease: a quarter of its expiry, so a slow PUT or two never lets it lapse.</summary>
    internal static readonly TimeSpan RenewEvery = TimeSpan.FromSeconds(15);

    /// <summary>A lease not renewed for this long belongs to a run that has died.</summary>
    internal static readonly TimeSpan Expiry = TimeSpan.FromSeconds(60);

    private readonly S3ObjectStore _s3;
    private readonly string _bucket;
    private readonly string _key;
    private readonly string _file;
    private readonly string _display;
    private readonly Holder _self;
    private readonly Timer _renew;
    private readonly Lock _lock = new();
    private readonly Stopwatch _sinceRenewed = Stopwatch.StartNew();
    private string? _lost;

    private S3OutputLease(S3ObjectStore s3, string bucket, string key, string file, string display, Holder self)
    {
        _s3 = s3;
        _bucket = bucket;
        _key = key;
        _file = file;
        _display = display;
        _self = self;
        _renew = new Timer(_ => Renew(), null, RenewEvery, RenewEvery);
    }

    public static S3OutputLease Acquire(S3ObjectStore s3, string bucket, string key, string display)
    {
        var file = Path.Combine(Path.GetTempPath(), $"sluice-lease-{Guid.NewGuid():N}.json");
        try
        {
            if (s3.TryDownloadAsync(bucket, key, file, CancellationToken.None).GetAwaiter().GetResult() is { } renewed)
            {
                var holder = Holder.Read(file);
                var age = ServerNow(s3, bucket, key) - renewed;
                if (age < Expiry && holder?.IsDeadHere() != true)
                {
                    throw new SluiceException(
                        $"output '{display}' is being written by another run ({holder?.ToString() ?? "holder unknown"}; lease renewed {Math.Max(0, age.TotalSeconds):F0} s ago); " +
                        "wait for it to end or stop it — a second run, even with --overwrite, would mix or delete its parts. " +
                        $"If that run has died, its lease expires {Math.Max(0, (Expiry - age).TotalSeconds):F0} s from now");
                }
            }
            var self = Holder.Current();
            File.WriteAllText(file, self.ToJson());
            s3.UploadAsync(bucket, key, file, sha256: null, CancellationToken.None).GetAwaiter().GetResult();
            // Read back: a run that wrote its own lease in the same instant is seen here, not after both have started.
            if (Holder.ReadFrom(s3, bucket, key) is { } written && written.Token != self.Token)
                throw new SluiceException($"output '{display}' was taken by another run at the same moment ({written}); wait for it to end or stop it");
            return new S3OutputLease(s3, bucket, key, file, display, self);
        }
        catch
        {
            File.Delete(file);
            throw;
        }
    }

    /// <summary>Refuses, before a commit, once this run can no longer be sure the output is its own.</summary>
    public void EnsureHeld()
    {
        lock (_lock)
        {
            if (_lost is not null)
                throw new SluiceException($"output '{_display}': {_lost}; this run stops without committing more — resume once that run has ended");
            if (_sinceRenewed.Elapsed > Expiry - RenewEvery)
                throw new SluiceException(
                    $"output '{_display}': its lease has not been renewed for {_sinceRenewed.Elapsed.TotalSeconds:F0} s (the store did not answer, or this process was paused), " +
                    $"so another run may have taken it after {Expiry.TotalSeconds:F0} s; this run stops without committing more — resume it");
        }
    }

    /// <summary>One renewal now, as the timer makes them (tests use it instead of waiting).</summary>
    internal void RenewNow() => Renew();

    private void Renew()
    {
        try
        {
            lock (_lock)
            {
                if (_lost is not null) return;
            }
            var current = Holder.ReadFrom(_s3, _bucket, _key);
            if (current is not null && current.Token != _self.Token)
            {
                lock (_lock) _lost = $"another run took its lease ({current})";
                return;
            }
            _s3.UploadAsync(_bucket, _key, _file, sha256: null, CancellationToken.None).GetAwaiter().GetResult();
            lock (_lock) _sinceRenewed.Restart();
        }
        catch (Exception e)
        {
            // A timer callback must never throw (it would end the process): the store is unreachable, the job's own writes
            // say so, and EnsureHeld refuses to commit once the lease may have lapsed. The next renewal tries again.
            Debug.WriteLine($"lease renewal of {_display} failed: {e.Message}");
        }
    }

    public void Dispose()
    {
        // Wait out a renewal in flight: it must not put the lease back after it is deleted.
        using (var stopped = new ManualResetEvent(false))
        {
            if (_renew.Dispose(stopped)) stopped.WaitOne();
        }
        try
        {
            // Only our own lease is deleted: a run that took it over keeps it.
            if (Holder.ReadFrom(_s3, _bucket, _key)?.Token == _self.Token) _s3.DeleteAsync(_bucket, _key, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            // Left behind, it expires; a resume on this machine takes it over at once.
            Debug.WriteLine($"lease release of {_display} failed: {e.Message}");
        }
        File.Delete(_file);
    }

    /// <summary>The server's clock now: the last-modified time of a probe object written for the purpose.</summary>
    private static DateTime ServerNow(S3ObjectStore s3, string bucket, string key)
    {
        var probeKey = $"{key}.probe-{Guid.NewGuid():N}";
        var probe = Path.Combine(Path.GetTempPath(), $"sluice-lease-probe-{Guid.NewGuid():N}");
        File.WriteAllBytes(probe, []);
        try
        {
            s3.UploadAsync(bucket, probeKey, probe, sha256: null, CancellationToken.None).GetAwaiter().GetResult();
            var head = s3.HeadMetadataAsync(bucket, probeKey, CancellationToken.None).GetAwaiter().GetResult();
            s3.DeleteAsync(bucket, probeKey, CancellationToken.None).GetAwaiter().GetResult();
            return head?.LastModifiedUtc ?? DateTime.UtcNow;
        }
        finally
        {
            File.Delete(probe);
        }
    }

    /// <summary>
    /// Who holds a lease: its run's token, and the process (pid and start time, so a reused pid is not taken for it), its
    /// host, the machine's boot id and the pid namespace — pids of another container or boot say nothing here.
    /// </summary>
    private sealed record Holder(string Token, int Pid, string Host, string? BootId, string? PidNamespace, DateTime ProcessStartUtc)
    {
        public static Holder Current()
        {
            using var self = Process.GetCurrentProcess();
            return new Holder(Guid.NewGuid().ToString("N"), Environment.ProcessId, Environment.MachineName, BootIdHere(), PidNamespaceHere(),
                self.StartTime.ToUniversalTime());
        }

        public static Holder? ReadFrom(S3ObjectStore s3, string bucket, string key)
        {
            var file = Path.Combine(Path.GetTempPath(), $"sluice-lease-read-{Guid.NewGuid():N}.json");
            try
            {
                return s3.TryDownloadAsync(bucket, key, file, CancellationToken.None).GetAwaiter().GetResult() is null ? null : Read(file);
            }
            finally
            {
                File.Delete(file);
            }
        }

        public static Holder? Read(string file)
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
                var root = doc.RootElement;
                return new Holder(
                    root.TryGetProperty("token", out var t) ? t.GetString() ?? "" : "",
                    root.GetProperty("pid").GetInt32(),
                    root.GetProperty("host").GetString() ?? "",
                    root.TryGetProperty("boot_id", out var b) ? b.GetString() : null,
                    root.TryGetProperty("pid_ns", out var n) ? n.GetString() : null,
                    DateTime.Parse(root.GetProperty("process_start").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentNullException)
            {
                return null;
            }
        }

        /// <summary>
        /// A process of this machine, this boot and this pid namespace that no longer runs (or whose pid now belongs to a
        /// later process). Anything less certain — another container with the same host name — waits for the lease to expire.
        /// </summary>
        public bool IsDeadHere()
        {
            if (!string.Equals(Host, Environment.MachineName, StringComparison.Ordinal)) return false;
            if (BootId is null || PidNamespace is null || BootId != BootIdHere() || PidNamespace != PidNamespaceHere()) return false;
            try
            {
                using var process = Process.GetProcessById(Pid);
                return Math.Abs((process.StartTime.ToUniversalTime() - ProcessStartUtc).TotalSeconds) > 1;
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                return true;
            }
        }

        public string ToJson()
        {
            using var stream = new MemoryStream();
            using (var json = new Utf8JsonWriter(stream))
            {
                json.WriteStartObject();
                json.WriteString("token", Token);
                json.WriteNumber("pid", Pid);
                json.WriteString("host", Host);
                if (BootId is not null) json.WriteString("boot_id", BootId);
                if (PidNamespace is not null) json.WriteString("pid_ns", PidNamespace);
                json.WriteString("process_start", ProcessStartUtc.ToString("O", CultureInfo.InvariantCulture));
                json.WriteEndObject();
            }
            return Encoding.UTF8.GetString(stream.ToArray());
        }

        public override string ToString() =>
            string.Create(CultureInfo.InvariantCulture, $"pid {Pid} on {Host}, started {ProcessStartUtc:yyyy-MM-dd HH:mm:ss}Z");

        /// <summary>Linux's id of this boot; null elsewhere (then no holder is ever taken for dead before its lease expires).</summary>
        internal static string? BootIdHere()
        {
            try
            {
                return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }

        /// <summary>This process's pid namespace (<c>pid:[inode]</c>); null where there is none to read.</summary>
        internal static string? PidNamespaceHere()
        {
            try
            {
                return new FileInfo("/proc/self/ns/pid").LinkTarget;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }
    }
}
