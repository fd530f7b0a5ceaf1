pub struct Outbox;
