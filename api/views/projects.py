"""/api projects: list, create, get, change, delete."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from api.schema import PROJECT_EXAMPLE, PROJECT_RESPONSE_EXAMPLE, error_responses
from api.serializers import (
    ProjectDeleteQuery,
    ProjectIn,
    ProjectListOut,
    ProjectOut,
    ProjectUpdateIn,
    parse,
)
from organise import services as organise_services
from projects import selectors, services


class ProjectListView(APIView):
    @extend_schema(
        operation_id="projects_list",
        summary="List your projects",
        responses={200: ProjectListOut, **error_responses()},
        examples=[
            OpenApiExample("Projects", value={"data": [PROJECT_EXAMPLE]}, response_only=True)
        ],
    )
    def get(self, request):
        projects = selectors.project_list_for_user(user=request.user)
        return Response(ProjectListOut({"data": projects}).data)

    @extend_schema(
        operation_id="projects_create",
        summary="Create a project",
        request=ProjectIn,
        responses={201: ProjectOut, **error_responses(400, 413, 429)},
        examples=[
            OpenApiExample(
                "New project",
                value={"title": "Travel", "instructions": "Answer briefly."},
                request_only=True,
            ),
            PROJECT_RESPONSE_EXAMPLE,
        ],
    )
    def post(self, request):
        data = parse(ProjectIn, request.data)
        project = services.project_create(owner=request.user, **data)
        return Response(ProjectOut(project).data, status=status.HTTP_201_CREATED)


class ProjectDetailView(APIView):
    @extend_schema(
        operation_id="projects_retrieve",
        summary="Get a project",
        responses={200: ProjectOut, **error_responses(404)},
        examples=[PROJECT_RESPONSE_EXAMPLE],
    )
    def get(self, request, public_id):
        project = selectors.project_get_for_user(user=request.user, public_id=public_id)
        return Response(ProjectOut(project).data)

    @extend_schema(
        operation_id="projects_update",
        summary="Change a project's title, description or instructions",
        request=ProjectUpdateIn,
        responses={200: ProjectOut, **error_responses(400, 404, 413, 429)},
        examples=[
            OpenApiExample("Rename", value={"title": "Travel 2027"}, request_only=True),
            PROJECT_RESPONSE_EXAMPLE,
        ],
    )
    def patch(self, request, public_id):
        project = selectors.project_get_for_user(user=request.user, public_id=public_id)
        data = parse(ProjectUpdateIn, request.data)
        current = {
            "title": project.title,
            "description": project.description,
            "instructions": project.instructions,
        }
        project = services.project_update(project=project, **(current | data))
        return Response(ProjectOut(project).data)

    @extend_schema(
        operation_id="projects_destroy",
        summary="Delete a project; its conversations stay, outside any project, unless asked",
        parameters=[ProjectDeleteQuery],
        responses={204: None, **error_responses(400, 404, 429)},
    )
    def delete(self, request, public_id):
        project = selectors.project_get_for_user(user=request.user, public_id=public_id)
        query = parse(ProjectDeleteQuery, request.query_params.dict())
        organise_services.project_delete(
            project=project, delete_conversations=query["delete_conversations"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
