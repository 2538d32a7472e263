//! The Glue database and tables and the Athena workgroup and named queries: SQL over the
//! archive, created in the emulator (which answers queries with DuckDB) as on AWS.

use aws_sdk_athena::types::{
    EncryptionConfiguration, EncryptionOption, EngineVersion, ResultConfiguration,
    WorkGroupConfiguration,
};
use aws_sdk_glue::types::{Column, DatabaseInput, SerDeInfo, StorageDescriptor, TableInput};
use stackgen::aws::athena::{NamedQuery, Workgroup};
use stackgen::aws::glue::{self, CatalogDatabase, CatalogTable};

use super::{LOCAL_ACCOUNT, Outputs, lit, outputs, required};
use crate::clients::Clients;
use crate::error::Error;

/// `aws:glue:CatalogDatabase`.
pub(super) async fn database(c: &Clients, d: CatalogDatabase) -> Result<Outputs, Error> {
    let input = DatabaseInput::builder()
        .name(&d.name)
        .description(&d.description)
        .build()
        .map_err(Error::aws("glue:CreateDatabase"))?;
    c.glue
        .create_database()
        .database_input(input)
        .send()
        .await
        .map_err(Error::aws("glue:CreateDatabase"))?;
    let arn = format!(
        "arn:aws:glue:{}:{LOCAL_ACCOUNT}:database/{}",
        c.region, d.name
    );
    Ok(outputs(&[
        ("id", d.name.clone()),
        ("name", d.name),
        ("arn", arn),
    ]))
}

fn columns(name: &str, cs: &[glue::Column]) -> Result<Vec<Column>, Error> {
    cs.iter()
        .map(|col| {
            Column::builder()
                .name(&col.name)
                .r#type(lit(name, &col.ty)?)
                .set_comment(col.comment.clone())
                .build()
                .map_err(Error::aws("glue:CreateTable"))
        })
        .collect()
}

/// `aws:glue:CatalogTable`: an external table, its partition projection in its parameters.
pub(super) async fn table(c: &Clients, name: &str, t: CatalogTable) -> Result<Outputs, Error> {
    let sd = &t.storage_descriptor;
    let storage = StorageDescriptor::builder()
        .location(&sd.location)
        .input_format(&sd.input_format)
        .output_format(&sd.output_format)
        .compressed(sd.compressed)
        .set_columns(Some(columns(name, &sd.columns)?))
        .serde_info(
            SerDeInfo::builder()
                .serialization_library(&sd.ser_de_info.serialization_library)
                .set_parameters(Some(
                    sd.ser_de_info.parameters.clone().into_iter().collect(),
                ))
                .build(),
        )
        .build();
    let input = TableInput::builder()
        .name(&t.name)
        .description(&t.description)
        .table_type(&t.table_type)
        .set_parameters(Some(t.parameters.clone().into_iter().collect()))
        .set_partition_keys(Some(columns(name, &t.partition_keys)?))
        .storage_descriptor(storage)
        .build()
        .map_err(Error::aws("glue:CreateTable"))?;
    c.glue
        .create_table()
        .database_name(&t.database_name)
        .table_input(input)
        .send()
        .await
        .map_err(Error::aws("glue:CreateTable"))?;
    let arn = format!(
        "arn:aws:glue:{}:{LOCAL_ACCOUNT}:table/{}/{}",
        c.region, t.database_name, t.name
    );
    Ok(outputs(&[
        (
            "id",
            format!("{LOCAL_ACCOUNT}:{}:{}", t.database_name, t.name),
        ),
        ("name", t.name),
        ("arn", arn),
    ]))
}

/// `aws:athena:Workgroup`: results location and encryption, scan limit, engine, enforced.
pub(super) async fn workgroup(c: &Clients, name: &str, w: Workgroup) -> Result<Outputs, Error> {
    let cfg = &w.configuration;
    let results = &cfg.result_configuration;
    let configuration = WorkGroupConfiguration::builder()
        .enforce_work_group_configuration(cfg.enforce_workgroup_configuration)
        .publish_cloud_watch_metrics_enabled(cfg.publish_cloudwatch_metrics_enabled)
        .bytes_scanned_cutoff_per_query(*lit(name, &cfg.bytes_scanned_cutoff_per_query)?)
        .engine_version(
            EngineVersion::builder()
                .selected_engine_version(&cfg.engine_version.selected_engine_version)
                .build(),
        )
        .result_configuration(
            ResultConfiguration::builder()
                .output_location(&results.output_location)
                .encryption_configuration(
                    EncryptionConfiguration::builder()
                        .encryption_option(EncryptionOption::from(
                            results.encryption_configuration.encryption_option.as_str(),
                        ))
                        .build()
                        .map_err(Error::aws("athena:CreateWorkGroup"))?,
                )
                .build(),
        )
        .build();
    c.athena
        .create_work_group()
        .name(&w.name)
        .description(&w.description)
        .configuration(configuration)
        .send()
        .await
        .map_err(Error::aws("athena:CreateWorkGroup"))?;
    let arn = format!(
        "arn:aws:athena:{}:{LOCAL_ACCOUNT}:workgroup/{}",
        c.region, w.name
    );
    Ok(outputs(&[
        ("id", w.name.clone()),
        ("name", w.name),
        ("arn", arn),
    ]))
}

/// `aws:athena:NamedQuery`.
pub(super) async fn named_query(c: &Clients, name: &str, q: NamedQuery) -> Result<Outputs, Error> {
    let out = c
        .athena
        .create_named_query()
        .name(&q.name)
        .description(&q.description)
        .work_group(&q.workgroup)
        .database(&q.database)
        .query_string(lit(name, &q.query)?)
        .send()
        .await
        .map_err(Error::aws("athena:CreateNamedQuery"))?;
    let id = required(
        name,
        "named query id",
        out.named_query_id().map(str::to_owned),
    )?;
    Ok(outputs(&[("id", id)]))
}
