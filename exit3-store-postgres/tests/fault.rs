//! Fault test: a TCP proxy between the store and PostgreSQL that the test cuts and
//! restores. While it is cut, calls fail as `Unavailable` within a bounded time; no write
//! is reported done that was not committed; after the restore the same store works.

use exit3_store_postgres::testing;

use std::{
    collections::BTreeSet,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering as AtomicOrdering},
    },
    time::{Duration, Instant},
};

use exit3_core::{
    LeadFilter, Ordering, PageRequest, StoreError, ThrottleHit,
    store::{HealthCheck, LeadStore, SubscriberStore, ThrottleStore},
    testing::{at, new_lead, new_subscriber},
    throttle::Rate,
};
use exit3_store_postgres::PostgresStore;
use serde_json::json;
use sqlx::{ConnectOptions, Connection};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
};

/// A TCP proxy to PostgreSQL. `cut` closes every open connection and refuses new ones
/// (accepts and closes them at once), and returns once every connection is closed;
/// `restore` forwards again.
struct Proxy {
    addr: SocketAddr,
    cut: watch::Sender<bool>,
    /// Connections being forwarded.
    live: Arc<AtomicUsize>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"));
        let (cut, watching) = watch::channel(false);
        let live = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&live);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *watching.borrow() {
                    drop(client);
                    continue;
                }
                let mut cut = watching.clone();
                let live = Arc::clone(&counted);
                live.fetch_add(1, AtomicOrdering::SeqCst);
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        live.fetch_sub(1, AtomicOrdering::SeqCst);
                        return;
                    };
                    let (mut client, mut server) = (client, server);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.wait_for(|&c| c) => {}
                    }
                    // Both sockets are dropped here: the connection is gone.
                    drop((client, server));
                    live.fetch_sub(1, AtomicOrdering::SeqCst);
                });
            }
        });
        Self { addr, cut, live }
    }

    /// Cuts, and waits until no connection is forwarded any more (a request sent after
    /// this cannot reach the database).
    async fn cut(&self) {
        let _ = self.cut.send(true);
        let started = Instant::now();
        while self.live.load(AtomicOrdering::SeqCst) > 0 {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "the proxy's connections did not close"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn restore(&self) {
        let _ = self.cut.send(false);
    }
}

fn assert_unavailable<T: std::fmt::Debug>(what: &str, r: Result<T, StoreError>, started: Instant) {
    let took = started.elapsed();
    assert!(
        matches!(r, Err(StoreError::Unavailable { .. })),
        "{what} while cut: expected Unavailable, got {r:?}"
    );
    assert!(
        took < Duration::from_secs(5),
        "{what} took {took:?} to fail"
    );
    eprintln!("{what}: Unavailable after {took:?}");
}

async fn lead_names(db: &testing::TestDb) -> BTreeSet<String> {
    let mut conn = db
        .options
        .connect()
        .await
        .unwrap_or_else(|e| panic!("direct: {e}"));
    let rows: Vec<(String,)> = sqlx::query_as("SELECT full_name FROM leads")
        .fetch_all(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("read back: {e}"));
    let _ = conn.close().await;
    rows.into_iter().map(|(n,)| n).collect()
}

async fn insert(store: &PostgresStore, name: &str) -> Result<(), StoreError> {
    store
        .insert_lead(
            &new_lead(json!({"full_name": name, "position": "P"})),
            &Default::default(),
            &exit3_core::Actor::System,
            at(0),
        )
        .await
        .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cut_connection_is_unavailable_and_the_store_recovers() {
    let Some(db) = testing::test_db().await else {
        return;
    };
    let (proxy, store) = through_proxy(&db, 3, Duration::from_secs(1)).await;

    let mut acknowledged = BTreeSet::new();
    for i in 0..5 {
        let name = format!("before {i}");
        insert(&store, &name)
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        acknowledged.insert(name);
    }
    let hit = ThrottleHit::new(
        exit3_core::ThrottleKey::custom(exit3_core::ThrottleScope::General, "general:ip:192.0.2.1"),
        Rate::new(100, Duration::from_secs(60)).unwrap_or_else(|| panic!("rate")),
    );
    store
        .hit(std::slice::from_ref(&hit), at(0))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));

    proxy.cut().await;
    let t = Instant::now();
    assert_unavailable("insert_lead", insert(&store, "during").await, t);
    let t = Instant::now();
    let r = store
        .list_leads(
            &LeadFilter::default(),
            Ordering::default(),
            PageRequest::default(),
        )
        .await;
    assert_unavailable("list_leads", r, t);
    let t = Instant::now();
    let r = store
        .subscribe(
            &new_subscriber(json!({"email": "cut@example.com"})),
            &exit3_core::Actor::System,
            at(1),
        )
        .await;
    assert_unavailable("subscribe", r, t);
    let t = Instant::now();
    assert_unavailable("hit", store.hit(std::slice::from_ref(&hit), at(1)).await, t);
    let t = Instant::now();
    assert_unavailable("health", store.health().await, t);

    proxy.restore();
    for i in 0..5 {
        let name = format!("after {i}");
        insert(&store, &name)
            .await
            .unwrap_or_else(|e| panic!("after restore: {e:?}"));
        acknowledged.insert(name);
    }
    store
        .health()
        .await
        .unwrap_or_else(|e| panic!("health after restore: {e:?}"));
    let (s, _) = store
        .subscribe(
            &new_subscriber(json!({"email": "cut@example.com"})),
            &exit3_core::Actor::System,
            at(2),
        )
        .await
        .unwrap_or_else(|e| panic!("subscribe after restore: {e:?}"));
    assert_eq!(s.email, "cut@example.com");
    // The hit refused while cut was not recorded: this is the second one.
    store
        .hit(std::slice::from_ref(&hit), at(2))
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        lead_names(&db).await,
        acknowledged,
        "exactly the acknowledged writes"
    );
    store.close().await;
    db.drop_database().await;
}

/// A store reaching the test database through a new proxy, with at most `connections`
/// and waiting at most `acquire` for one.
async fn through_proxy(
    db: &testing::TestDb,
    connections: u32,
    acquire: Duration,
) -> (Proxy, PostgresStore) {
    let upstream: SocketAddr = format!("{}:{}", db.options.get_host(), db.options.get_port())
        .parse()
        .unwrap_or_else(|e| panic!("upstream address: {e}"));
    let proxy = Proxy::start(upstream).await;
    let options = db.options.clone().host("127.0.0.1").port(proxy.addr.port());
    let store = PostgresStore::connect(
        exit3_store_postgres::PostgresOptions::new(options.to_url_lossy().to_string())
            .max_connections(connections)
            .acquire_timeout(acquire)
            .connect_retry_for(Duration::ZERO),
    )
    .await
    .unwrap_or_else(|e| panic!("connect through the proxy: {e:?}"));
    (proxy, store)
}

/// `writers` tasks make `writes` writes each, named `w{writer}-{i}`, with `write` while
/// the proxy is cut (after 150 ms, for 400 ms); then, against `stored` (the names the
/// database holds, read directly): every acknowledged write exists, every error was
/// `Unavailable`, and only a write whose connection died during its own commit exists
/// without an acknowledgement (the one ambiguity no client can avoid). Answers the proxy,
/// forwarding again, and the store.
async fn race_the_cut<F, Fut>(
    db: &testing::TestDb,
    writers: usize,
    writes: usize,
    write: F,
    stored: &str,
) -> (Proxy, Arc<PostgresStore>)
where
    F: Fn(Arc<PostgresStore>, String) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), StoreError>> + Send,
{
    let (proxy, store) = through_proxy(db, 4, Duration::from_millis(500)).await;
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (store, write) = (Arc::clone(&store), write.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed) = (Vec::new(), Vec::new());
            for i in 0..writes {
                let name = format!("w{w}-{i}");
                match write(Arc::clone(&store), name.clone()).await {
                    Ok(()) => ok.push(name),
                    Err(StoreError::Unavailable { .. }) => failed.push(name),
                    Err(e) => panic!("{name}: expected success or Unavailable, got {e:?}"),
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (ok, failed)
        }));
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    proxy.cut().await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    proxy.restore();
    let (mut acknowledged, mut failed) = (BTreeSet::new(), BTreeSet::new());
    for task in tasks {
        let (ok, bad) = task.await.unwrap_or_else(|e| panic!("task: {e}"));
        acknowledged.extend(ok);
        failed.extend(bad);
    }
    let mut conn = db
        .options
        .connect()
        .await
        .unwrap_or_else(|e| panic!("direct: {e}"));
    let rows: Vec<(String,)> = sqlx::query_as(stored)
        .fetch_all(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("read back: {e}"));
    let _ = conn.close().await;
    let stored: BTreeSet<String> = rows.into_iter().map(|(n,)| n).collect();
    assert!(
        stored.is_superset(&acknowledged),
        "an acknowledged write is missing"
    );
    let unacknowledged: Vec<_> = stored.difference(&acknowledged).collect();
    assert!(unacknowledged.iter().all(|n| failed.contains(*n)));
    assert!(!failed.is_empty(), "the cut should have failed some writes");
    eprintln!(
        "{} acknowledged, {} failed as Unavailable, {} committed although their commit's \
         answer was lost",
        acknowledged.len(),
        failed.len(),
        unacknowledged.len()
    );
    (proxy, store)
}

/// Creates racing with the cut (see [`race_the_cut`]); after the restore the same store
/// writes again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_racing_a_cut_never_acknowledge_what_was_not_committed() {
    let Some(db) = testing::test_db().await else {
        return;
    };
    let write =
        |store: Arc<PostgresStore>, name: String| async move { insert(&store, &name).await };
    let (_proxy, store) = race_the_cut(&db, 4, 60, write, "SELECT full_name FROM leads").await;
    insert(&store, "after")
        .await
        .unwrap_or_else(|e| panic!("after restore: {e:?}"));
    store.close().await;
    db.drop_database().await;
}

/// Subscribes racing the cut (see [`race_the_cut`]), eight at a time so that they share
/// transactions.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn subscribes_racing_a_cut_never_acknowledge_what_was_not_committed() {
    let Some(db) = testing::test_db().await else {
        return;
    };
    let write = |store: Arc<PostgresStore>, name: String| async move {
        let request = new_subscriber(json!({ "email": format!("{name}@example.com") }));
        store
            .subscribe(&request, &exit3_core::Actor::System, at(0))
            .await
            .map(|_| ())
    };
    let (_proxy, store) = race_the_cut(
        &db,
        8,
        40,
        write,
        "SELECT split_part(email, '@', 1) FROM newsletter_subscribers",
    )
    .await;
    store.close().await;
    db.drop_database().await;
}
